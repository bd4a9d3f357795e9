import { strict as assert } from "assert";
import { cidrsOverlap, formatCidr, hostAddress, parseCidr, subnetCidr } from "../lib/cidr";
import { azIdBelongsTo, regionCode } from "../lib/regions";
import { nodesPerZone, spreadOverZones, survivesZoneLoss } from "../lib/placement";

describe("lib/cidr", () => {
    const subnetCases: [string, "private" | "data" | "public", number, string][] = [
        ["10.10.0.0/16", "private", 0, "10.10.0.0/20"],
        ["10.10.0.0/16", "private", 2, "10.10.32.0/20"],
        ["10.10.0.0/16", "data", 0, "10.10.64.0/20"],
        ["10.10.0.0/16", "data", 2, "10.10.96.0/20"],
        ["10.10.0.0/16", "public", 0, "10.10.128.0/20"],
        ["10.10.0.0/16", "public", 2, "10.10.160.0/20"],
        ["10.20.0.0/20", "data", 1, "10.20.5.0/24"],
        ["172.16.4.0/22", "public", 1, "172.16.6.64/26"],
    ];
    for (const [vpc, tier, az, expected] of subnetCases) {
        it(`subnetCidr(${vpc}, ${tier}, ${az}) = ${expected}`, () => {
            assert.equal(subnetCidr(vpc, tier, az), expected);
        });
    }

    it("gives no two subnets of a VPC overlapping ranges", () => {
        const all = (["private", "data", "public"] as const).flatMap((t) =>
            [0, 1, 2].map((i) => parseCidr(subnetCidr("10.10.0.0/16", t, i))!),
        );
        for (let i = 0; i < all.length; i++) {
            for (let j = i + 1; j < all.length; j++) {
                assert.equal(cidrsOverlap(all[i], all[j]), false, `${i} and ${j} overlap`);
            }
        }
    });

    it("rejects a fourth AZ position", () => {
        assert.throws(() => subnetCidr("10.10.0.0/16", "data", 3), /AZ position 3 is outside 0\.\.2/);
    });

    const parseCases: [string, string | undefined][] = [
        ["10.0.0.0/16", "10.0.0.0/16"],
        ["10.0.0.1/16", undefined], // host bits set
        ["10.0.0.0/33", undefined],
        ["256.0.0.0/8", undefined],
        ["10.0.0/16", undefined],
        ["010.0.0.0/16", undefined],
        ["0.0.0.0/0", "0.0.0.0/0"],
    ];
    for (const [text, expected] of parseCases) {
        it(`parseCidr(${text}) ${expected ? "parses" : "rejects"}`, () => {
            const parsed = parseCidr(text);
            assert.equal(parsed ? formatCidr(parsed) : undefined, expected);
        });
    }

    const overlapCases: [string, string, boolean][] = [
        ["10.10.0.0/16", "10.20.0.0/16", false],
        ["10.0.0.0/8", "10.20.0.0/16", true],
        ["10.20.0.0/16", "10.20.255.0/24", true],
        ["10.20.0.0/24", "10.20.1.0/24", false],
    ];
    for (const [a, b, expected] of overlapCases) {
        it(`cidrsOverlap(${a}, ${b}) = ${expected}`, () => {
            assert.equal(cidrsOverlap(parseCidr(a)!, parseCidr(b)!), expected);
            assert.equal(cidrsOverlap(parseCidr(b)!, parseCidr(a)!), expected);
        });
    }

    it("hostAddress counts from the subnet's network address", () => {
        assert.equal(hostAddress("10.10.64.0/20", 10), "10.10.64.10");
        assert.equal(hostAddress("10.10.64.0/20", 300), "10.10.65.44");
    });

    it("rejects the addresses AWS reserves", () => {
        assert.throws(() => hostAddress("10.10.64.0/24", 3), /offset 3 is not a usable host of 10\.10\.64\.0\/24 \(4\.\.254\)/);
        assert.throws(() => hostAddress("10.10.64.0/24", 255), /offset 255 is not a usable host/);
    });
});

describe("lib/regions", () => {
    const codes: [string, string][] = [
        ["us-east-2", "use2"],
        ["us-west-1", "usw1"],
        ["ap-southeast-1", "apse1"],
        ["eu-central-1", "euc1"],
        ["ap-northeast-3", "apne3"],
    ];
    for (const [region, code] of codes) {
        it(`regionCode(${region}) = ${code}`, () => assert.equal(regionCode(region), code));
    }
    it("matches AZ IDs to their region only", () => {
        assert.equal(azIdBelongsTo("usw1-az3", "us-west-1"), true);
        assert.equal(azIdBelongsTo("use2-az1", "us-west-1"), false);
        assert.equal(azIdBelongsTo("us-west-1a", "us-west-1"), false);
    });
    it("rejects a malformed region", () => {
        assert.throws(() => regionCode("uswest1"), /"uswest1" is not an AWS region name/);
    });
});

describe("lib/placement", () => {
    const cases: [number, number, number[], boolean][] = [
        [3, 3, [0, 1, 2], true],
        [3, 2, [0, 1, 0], false],
        [5, 3, [0, 1, 2, 0, 1], true],
        [2, 3, [0, 1], false],
        [5, 2, [0, 1, 0, 1, 0], false],
    ];
    for (const [count, zones, expected, survives] of cases) {
        it(`spreads ${count} nodes over ${zones} zones as ${JSON.stringify(expected)}; survives a zone loss: ${survives}`, () => {
            const placement = spreadOverZones(count, zones);
            assert.deepEqual(placement, expected);
            assert.equal(Math.max(...nodesPerZone(placement, zones)), Math.ceil(count / zones));
            assert.equal(survivesZoneLoss(placement, zones), survives);
        });
    }
    it("rejects zero zones", () => {
        assert.throws(() => spreadOverZones(3, 0), /zone count 0 is not a positive integer/);
    });
});
