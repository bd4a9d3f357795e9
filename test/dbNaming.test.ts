import { strict as assert } from "assert";
import {
    finalSnapshotIdentifier,
    kmsAliasName,
    masterSecretName,
    parameterGroupFamily,
    readerRecordName,
    replicaIdentifier,
    replicaZones,
    writerArn,
    writerIdentifier,
    writerRecordName,
} from "../lib/dbNaming";

describe("lib/dbNaming", () => {
    const writers: [string, string, string][] = [
        ["ecommerce-mysql", "us-east-2", "ecommerce-mysql-us-east-2"],
        ["ecommerce-mysql", "us-west-1", "ecommerce-mysql-us-west-1"],
        ["shop", "ap-southeast-1", "shop-ap-southeast-1"],
    ];
    for (const [base, region, expected] of writers) {
        it(`writerIdentifier(${base}, ${region}) = ${expected}`, () => assert.equal(writerIdentifier(base, region), expected));
    }

    const replicas: [string, string, number, string][] = [
        ["ecommerce-mysql", "us-east-2", 1, "ecommerce-mysql-us-east-2-replica-1"],
        ["ecommerce-mysql", "us-west-1", 2, "ecommerce-mysql-us-west-1-replica-2"],
    ];
    for (const [base, region, n, expected] of replicas) {
        it(`replicaIdentifier(${base}, ${region}, ${n}) = ${expected}`, () => assert.equal(replicaIdentifier(base, region, n), expected));
    }

    const arns: [string, string, string, string, string][] = [
        ["aws", "123456789012", "us-east-2", "ecommerce-mysql", "arn:aws:rds:us-east-2:123456789012:db:ecommerce-mysql-us-east-2"],
        ["aws", "123456789012", "us-west-1", "ecommerce-mysql", "arn:aws:rds:us-west-1:123456789012:db:ecommerce-mysql-us-west-1"],
        [
            "aws-us-gov",
            "210987654321",
            "us-gov-west-1",
            "shop-db",
            "arn:aws-us-gov:rds:us-gov-west-1:210987654321:db:shop-db-us-gov-west-1",
        ],
    ];
    for (const [partition, accountId, writerRegion, identifierBase, expected] of arns) {
        it(`writerArn derives ${expected}`, () =>
            assert.equal(writerArn({ partition, accountId, writerRegion, identifierBase }), expected));
    }

    const names: [string, () => string, string][] = [
        ["finalSnapshotIdentifier", () => finalSnapshotIdentifier("ecommerce-mysql-us-east-2"), "ecommerce-mysql-us-east-2-final"],
        ["masterSecretName", () => masterSecretName("ecommerce", "us-east-2"), "ecommerce/us-east-2/mysql-master"],
        ["kmsAliasName", () => kmsAliasName("ecommerce-mysql", "us-west-1"), "alias/ecommerce-mysql-us-west-1"],
        ["writerRecordName", () => writerRecordName("db.ecommerce.internal"), "writer.db.ecommerce.internal"],
        ["readerRecordName", () => readerRecordName("db.ecommerce.internal"), "reader.db.ecommerce.internal"],
        ["parameterGroupFamily 8.4", () => parameterGroupFamily("8.4"), "mysql8.4"],
        ["parameterGroupFamily 8.4.7", () => parameterGroupFamily("8.4.7"), "mysql8.4"],
    ];
    for (const [what, compute, expected] of names) {
        it(`${what} = ${expected}`, () => assert.equal(compute(), expected));
    }

    const placements: [number, string[], string[]][] = [
        [2, ["us-east-2a", "us-east-2b", "us-east-2c"], ["us-east-2a", "us-east-2b"]],
        [2, ["us-west-1c", "us-west-1b"], ["us-west-1c", "us-west-1b"]],
        [3, ["us-west-1c", "us-west-1b"], ["us-west-1c", "us-west-1b", "us-west-1c"]],
        [0, ["us-east-2a", "us-east-2b"], []],
    ];
    for (const [count, zones, expected] of placements) {
        it(`replicaZones(${count}, ${zones.join(",")}) = ${JSON.stringify(expected)}`, () =>
            assert.deepEqual(replicaZones(count, zones), expected));
    }

    const rejections: [string, () => unknown, RegExp][] = [
        [
            "rejects an identifier over 63 characters",
            () => replicaIdentifier("a-very-long-database-identifier-base-name", "ap-southeast-1", 1),
            /replicaIdentifier: "a-very-long-database-identifier-base-name-ap-southeast-1-replica-1" \(66 characters\) is not a valid RDS instance identifier/,
        ],
        [
            "rejects a base with a double hyphen",
            () => writerIdentifier("shop--db", "us-east-2"),
            /"shop--db-us-east-2" \(18 characters\) is not a valid RDS instance identifier/,
        ],
        [
            "rejects a base starting with a digit",
            () => writerIdentifier("1shop", "us-east-2"),
            /"1shop-us-east-2" .* is not a valid RDS instance identifier/,
        ],
        [
            "rejects a malformed region",
            () => writerIdentifier("shop", "useast2"),
            /writerIdentifier: "useast2" is not an AWS region name like us-east-2/,
        ],
        ["rejects replica number 0", () => replicaIdentifier("shop", "us-east-2", 0), /replica number 0 is not an integer from 1/],
        [
            "rejects an account ID that is not 12 digits",
            () => writerArn({ partition: "aws", accountId: "12345", writerRegion: "us-east-2", identifierBase: "shop" }),
            /writerArn: account "12345" is not a 12-digit AWS account ID/,
        ],
        [
            "rejects an unknown partition",
            () => writerArn({ partition: "azure", accountId: "123456789012", writerRegion: "us-east-2", identifierBase: "shop" }),
            /writerArn: partition "azure" is not an AWS partition/,
        ],
        [
            "rejects a secret prefix with an empty segment",
            () => masterSecretName("ecommerce//x", "us-east-2"),
            /prefix "ecommerce\/\/x" may hold only/,
        ],
        ["rejects a version without a minor", () => parameterGroupFamily("8"), /"8" is not a MySQL version such as 8.4 or 8.4.7/],
    ];
    for (const [name, call, message] of rejections) {
        it(name, () => assert.throws(call, message));
    }
});
