/**
 * `npm run prices`: checks lib/prices.ts's instance rows, EC2 by type and RDS for MySQL by
 * class (most of the bill), against the AWS Price List API, region by region. Read-only
 * (pricing:GetProducts, no other permission); it changes nothing, it says which figures differ,
 * and an operator updates the rows and PRICES_READ_ON (docs/cost.md). The other rows' sources
 * are pages, checked by hand.
 *
 * The Price List API answers in us-east-1 (and two other endpoints); the products it returns are
 * JSON documents whose on-demand terms hold the hourly price
 * (https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_pricing_GetProducts.html).
 * `regionCode` is a product attribute of both services' price lists, so no location names are
 * needed.
 */
import { type Filter, GetProductsCommand, PricingClient } from "@aws-sdk/client-pricing";
import { PRICE_TABLE, PRICED_REGIONS, type PriceRow, PRICES_READ_ON } from "../lib/prices";
import { toolArgs, usageError } from "./toolArgs";

const USAGE = `usage: npm run prices -- [--region R] [--json]

Checks lib/prices.ts (read ${PRICES_READ_ON}) against the AWS Price List API: every EC2 and RDS
for MySQL row, in each of ${PRICED_REGIONS.join(", ")}. Read-only; needs AWS credentials allowed
pricing:GetProducts (any region's: the API is called in us-east-1).

  --region R   one region only
  --json       one JSON document on stdout (also whenever stdout is not a terminal)

exit status: 0 every figure matches, 1 a figure differs or AWS has none, 2 a usage error,
3 the Price List API could not be asked (credentials, network)`;

/** What the Price List API is asked for a row, or undefined for a row it does not check. */
export function filtersFor(row: PriceRow, region: string): Filter[] | undefined {
    const term = (Field: string, Value: string): Filter => ({ Type: "TERM_MATCH", Field, Value });
    const [kind, type] = row.key.split(":");
    if (kind === "ec2" && row.unit === "hour") {
        return [
            term("instanceType", type),
            term("regionCode", region),
            term("operatingSystem", "Linux"),
            term("tenancy", "Shared"),
            term("preInstalledSw", "NA"),
            term("capacitystatus", "Used"),
            term("licenseModel", "No License required"),
        ];
    }
    if (kind === "rds" && row.unit === "hour") {
        return [
            term("instanceType", type),
            term("regionCode", region),
            term("databaseEngine", "MySQL"),
            term("deploymentOption", "Single-AZ"),
            term("productFamily", "Database Instance"),
        ];
    }
    return undefined;
}

const SERVICE: Readonly<Record<string, string>> = { ec2: "AmazonEC2", rds: "AmazonRDS" };

interface PriceListProduct {
    readonly terms?: {
        readonly OnDemand?: Record<
            string,
            { readonly priceDimensions?: Record<string, { unit?: string; pricePerUnit?: { USD?: string } }> }
        >;
    };
}

/** The distinct on-demand hourly prices in a GetProducts answer. */
export function hourlyPrices(priceList: readonly string[]): number[] {
    const found = new Set<number>();
    for (const text of priceList) {
        const product = JSON.parse(text) as PriceListProduct;
        for (const term of Object.values(product.terms?.OnDemand ?? {})) {
            for (const dimension of Object.values(term.priceDimensions ?? {})) {
                const usd = Number(dimension.pricePerUnit?.USD);
                if (dimension.unit === "Hrs" && Number.isFinite(usd) && usd > 0) {
                    found.add(usd);
                }
            }
        }
    }
    return [...found].sort((a, b) => a - b);
}

export interface PriceCheck {
    readonly key: string;
    readonly region: string;
    readonly table: number;
    /** The Price List's figure; undefined when it has none or more than one. */
    readonly aws?: number;
    readonly status: "matches" | "differs" | "none" | "ambiguous";
    readonly detail?: string;
}

/** Every checkable row of `rows` in `regions`, asked of the Price List API through `client`. */
export async function checkPrices(
    client: PricingClient,
    regions: readonly string[],
    rows: readonly PriceRow[] = PRICE_TABLE,
): Promise<PriceCheck[]> {
    const checks: PriceCheck[] = [];
    for (const row of rows) {
        for (const region of regions) {
            const filters = filtersFor(row, region);
            if (filters === undefined) {
                continue;
            }
            const table = row.usd[region as keyof PriceRow["usd"]];
            const priceList: string[] = [];
            let token: string | undefined;
            do {
                const page = await client.send(
                    new GetProductsCommand({
                        ServiceCode: SERVICE[row.key.split(":")[0]],
                        Filters: filters,
                        NextToken: token,
                        MaxResults: 100,
                    }),
                );
                // Each product is a JSON document (the SDK may hand it over parsed).
                for (const item of (page.PriceList ?? []) as unknown[]) {
                    priceList.push(typeof item === "string" ? item : JSON.stringify(item));
                }
                token = page.NextToken;
            } while (token !== undefined);
            const prices = hourlyPrices(priceList);
            if (prices.length === 0) {
                checks.push({ key: row.key, region, table, status: "none", detail: "the Price List has no on-demand hourly price for it" });
            } else if (prices.length > 1) {
                checks.push({ key: row.key, region, table, status: "ambiguous", detail: `the Price List has ${prices.join(", ")}` });
            } else {
                // The table keeps four decimals of a dollar (AWS's pages round so); the API has ten.
                const aws = prices[0];
                checks.push({ key: row.key, region, table, aws, status: Math.abs(aws - table) < 0.00005 ? "matches" : "differs" });
            }
        }
    }
    return checks;
}

function human(checks: readonly PriceCheck[]): string {
    const lines = checks.map(
        (c) =>
            `${c.status === "matches" ? "  ok     " : "  DIFFERS"} ${c.key.padEnd(20)} ${c.region.padEnd(10)} table ${String(c.table).padEnd(8)} ${c.aws !== undefined ? `AWS ${c.aws}` : (c.detail ?? "")}`,
    );
    const off = checks.filter((c) => c.status !== "matches").length;
    lines.push(
        "",
        off === 0
            ? `all ${checks.length} figures match the Price List (lib/prices.ts read ${PRICES_READ_ON}); set PRICES_READ_ON to today if this was the refresh`
            : `${off} of ${checks.length} figures differ or are missing: update their rows in lib/prices.ts and PRICES_READ_ON (docs/cost.md)`,
    );
    return lines.join("\n");
}

async function main(): Promise<number> {
    const flags = toolArgs("prices", USAGE, { region: { type: "string" }, json: { type: "boolean" } });
    const regions = flags.region === undefined ? [...PRICED_REGIONS] : [flags.region];
    if (flags.region !== undefined && !(PRICED_REGIONS as readonly string[]).includes(flags.region)) {
        usageError("prices", `--region ${flags.region}: expected one of ${PRICED_REGIONS.join(", ")}`);
    }
    let checks: PriceCheck[];
    const client = new PricingClient({ region: "us-east-1" });
    try {
        checks = await checkPrices(client, regions);
    } catch (err) {
        process.stderr.write(`prices: the Price List API could not be asked: ${(err as Error).message}\n`);
        return 3;
    } finally {
        client.destroy();
    }
    const json = (flags.json as unknown) === true || !process.stdout.isTTY;
    process.stdout.write(json ? `${JSON.stringify({ readOn: PRICES_READ_ON, checks }, null, 2)}\n` : `${human(checks)}\n`);
    return checks.every((c) => c.status === "matches") ? 0 : 1;
}

if (require.main === module) {
    main().then(
        (code) => (process.exitCode = code),
        (err) => {
            process.stderr.write(`prices: ${(err as Error).message}\n`);
            process.exitCode = 3;
        },
    );
}
