/**
 * npm run prices (tools/prices.ts): lib/prices.ts's EC2 and RDS rows checked against the AWS
 * Price List API. No local server speaks the Price List API, so aws-sdk-client-mock answers
 * GetProducts with documents of the shape AWS documents (product, terms.OnDemand, priceDimensions).
 */
import { strict as assert } from "assert";
import { GetProductsCommand, type GetProductsCommandInput, PricingClient } from "@aws-sdk/client-pricing";
import { mockClient } from "aws-sdk-client-mock";
import { PRICE_TABLE, priceRow } from "../lib/prices";
import { checkPrices, filtersFor, hourlyPrices } from "../tools/prices";

/** A Price List product document with one on-demand hourly price. */
function product(usd: number, sku = "SKU1"): string {
    return JSON.stringify({
        product: { sku, attributes: {} },
        terms: {
            OnDemand: {
                [`${sku}.JRTCKXETXF`]: {
                    priceDimensions: {
                        [`${sku}.JRTCKXETXF.6YS6EN2CT7`]: { unit: "Hrs", pricePerUnit: { USD: usd.toFixed(10) }, description: "per hour" },
                    },
                },
            },
        },
    });
}

const field = (input: GetProductsCommandInput, name: string) => input.Filters?.find((f) => f.Field === name)?.Value;

describe("npm run prices (tools/prices.ts): the price table against the AWS Price List API", () => {
    const pricing = mockClient(PricingClient);
    afterEach(() => pricing.reset());

    it("asks for Linux, shared-tenancy, on-demand EC2 and Single-AZ RDS for MySQL by region code, and checks no other row", () => {
        const ec2 = filtersFor(priceRow("ec2:t3.xlarge")!, "us-west-1")!;
        assert.deepEqual(Object.fromEntries(ec2.map((f) => [f.Field, f.Value])), {
            instanceType: "t3.xlarge",
            regionCode: "us-west-1",
            operatingSystem: "Linux",
            tenancy: "Shared",
            preInstalledSw: "NA",
            capacitystatus: "Used",
            licenseModel: "No License required",
        });
        assert.ok(ec2.every((f) => f.Type === "TERM_MATCH"));
        const rds = filtersFor(priceRow("rds:db.t3.2xlarge")!, "us-east-2")!;
        assert.deepEqual(Object.fromEntries(rds.map((f) => [f.Field, f.Value])), {
            instanceType: "db.t3.2xlarge",
            regionCode: "us-east-2",
            databaseEngine: "MySQL",
            deploymentOption: "Single-AZ",
            productFamily: "Database Instance",
        });
        assert.equal(filtersFor(priceRow("nat:hour")!, "us-east-2"), undefined);
    });

    it("reports each figure as matching, differing, missing or ambiguous, and follows the API's pages", async () => {
        const rows = [priceRow("ec2:t3.xlarge")!, priceRow("ec2:t3.large")!, priceRow("rds:db.t3.2xlarge")!, priceRow("ec2:m5.large")!];
        pricing.on(GetProductsCommand).callsFake((input: GetProductsCommandInput) => {
            const type = field(input, "instanceType")!;
            const region = field(input, "regionCode")!;
            const table = PRICE_TABLE.find((r) => r.key.endsWith(`:${type}`))!.usd[region as "us-east-1"];
            if (type === "t3.xlarge" && region === "us-west-1") {
                return { PriceList: [product(0.2)] }; // AWS moved it
            }
            if (type === "t3.large" && region === "us-east-2") {
                return { PriceList: [] };
            }
            if (type === "m5.large" && region === "us-east-1") {
                return { PriceList: [product(table, "A"), product(0.5, "B")] };
            }
            if (type === "db.t3.2xlarge" && region === "us-west-1") {
                // Two pages: the price is on the second.
                return input.NextToken === undefined ? { PriceList: [], NextToken: "page-2" } : { PriceList: [product(table)] };
            }
            return { PriceList: [product(table)] };
        });
        const checks = await checkPrices(new PricingClient({ region: "us-east-1" }), ["us-east-1", "us-east-2", "us-west-1"], rows);
        assert.equal(checks.length, 12);
        assert.deepEqual(
            checks.filter((c) => c.status !== "matches").map((c) => [c.key, c.region, c.status, c.aws ?? c.detail]),
            [
                ["ec2:t3.xlarge", "us-west-1", "differs", 0.2],
                ["ec2:t3.large", "us-east-2", "none", "the Price List has no on-demand hourly price for it"],
                ["ec2:m5.large", "us-east-1", "ambiguous", "the Price List has 0.096, 0.5"],
            ],
        );
        assert.equal(checks.find((c) => c.key === "rds:db.t3.2xlarge" && c.region === "us-west-1")?.status, "matches");
        assert.deepEqual(
            pricing
                .commandCalls(GetProductsCommand)
                .map((c) => c.args[0].input.ServiceCode)
                .filter((s, i, all) => all.indexOf(s) === i),
            ["AmazonEC2", "AmazonRDS"],
        );
    });

    it("reads only on-demand hourly prices above zero", () => {
        const upfront = JSON.stringify({
            terms: {
                OnDemand: {
                    t: {
                        priceDimensions: {
                            a: { unit: "Quantity", pricePerUnit: { USD: "100" } },
                            b: { unit: "Hrs", pricePerUnit: { USD: "0.0000000000" } },
                        },
                    },
                },
            },
        });
        assert.deepEqual(hourlyPrices([upfront, product(0.1664)]), [0.1664]);
    });
});
