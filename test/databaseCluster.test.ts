import { strict as assert } from "assert";
import { parse } from "yaml";
import { DatabaseCluster, DatabaseClusterArgs, databaseClusterArgsProblems } from "../components/databaseCluster";
import { loadStack, requireSuccess, runProgram, RecordedResource, StackRun } from "../offline/run";
import { runPolicies } from "../offline/policyRunner";
import { tierAzSpread } from "../policies/spread";
import { JUDGED_AS_OF } from "./support/asOf";
import { ancestorOfType, childrenOf, expectCount, one, ofType } from "./support/query";

const INSTANCE = "aws:rds/instance:Instance";
const COMPONENT = "ecommerce:db:DatabaseCluster";
const ZONE_NAME = "db.ecommerce.internal";

/** The resources under the database component (deep). */
function dbResources(run: StackRun): RecordedResource[] {
    return childrenOf(run, one(run, COMPONENT, "db"), true);
}

function dbKey(run: StackRun): RecordedResource {
    return one(run, "aws:kms/key:Key", "db-key");
}

/** Security groups the database must admit: the web servers' and the monitoring nodes'. */
function expectedClients(run: StackRun): string[] {
    const clients: string[] = [];
    for (const web of ofType(run, "ecommerce:web:WebTier")) {
        const sg = childrenOf(run, web, true).find(
            (r) => r.type === "aws:ec2/securityGroup:SecurityGroup" && r.name.endsWith("-instance-sg"),
        );
        assert.ok(sg, "the web tier has an instance security group");
        clients.push(sg.id!);
    }
    for (const agent of ofType(run, "ecommerce:failover:WriterAgent")) {
        const sg = childrenOf(run, agent, true).find((r) => r.type === "aws:ec2/securityGroup:SecurityGroup");
        assert.ok(sg, "the writer agent has a security group");
        clients.push(sg.id!);
    }
    for (const cluster of ofType(run, "eks:index:Cluster")) {
        // Managed node groups run in the cluster security group EKS creates.
        clients.push(cluster.outputs.eksCluster.vpcConfig.clusterSecurityGroupId);
    }
    return clients;
}

describe("DatabaseCluster", () => {
    const expectations = [
        {
            stack: "primary",
            region: "us-east-2",
            peer: "us-west-1",
            role: "writer",
            replicaZones: ["us-east-2a", "us-east-2b"],
        },
        // us-west-1b is usw1-az3 and us-west-1c is usw1-az1 in the mocked account: the replicas
        // follow the configured AZ order (usw1-az1, usw1-az3).
        {
            stack: "dr",
            region: "us-west-1",
            peer: "us-east-2",
            role: "standby",
            replicaZones: ["us-west-1c", "us-west-1b"],
        },
    ];
    for (const e of expectations) {
        describe(`stack ${e.stack} (${e.role})`, () => {
            const writerId = `ecommerce-mysql-${e.region}`;
            const replicaIds = [1, 2].map((n) => `${writerId}-replica-${n}`);

            it("lets the web servers' role read the application's own credentials in this region, and nothing else", async () => {
                const run = await loadStack(e.stack);
                const grant = one(run, "aws:iam/rolePolicy:RolePolicy", "db-app-credentials-to-web");
                assert.equal(grant.inputs.role, one(run, "aws:iam/role:Role", "web-instance").outputs.name);
                const statements = JSON.parse(grant.inputs.policy).Statement;
                if (e.role === "writer") {
                    // Its own secret, encrypted with the database's customer key: decrypt through Secrets Manager only.
                    assert.deepEqual(statements, [
                        {
                            Sid: "ReadDatabaseCredentials",
                            Effect: "Allow",
                            Action: "secretsmanager:GetSecretValue",
                            Resource: one(run, "aws:secretsmanager/secret:Secret", "db-app-secret").outputs.arn,
                        },
                        {
                            Sid: "DecryptThroughSecretsManager",
                            Effect: "Allow",
                            Action: "kms:Decrypt",
                            Resource: one(run, "aws:kms/key:Key", "db-key").outputs.arn,
                            Condition: { StringEquals: { "kms:ViaService": `secretsmanager.${e.region}.amazonaws.com` } },
                        },
                    ]);
                } else {
                    // The writer region's secret as replicated into this region (aws/secretsmanager key):
                    // the credential that stays valid when this region's replica is promoted.
                    assert.deepEqual(statements, [
                        {
                            Sid: "ReadDatabaseCredentials",
                            Effect: "Allow",
                            Action: "secretsmanager:GetSecretValue",
                            Resource: `arn:aws:secretsmanager:${e.region}:123456789012:secret:ecommerce/${e.peer}/mysql-app-??????`,
                        },
                    ]);
                }
            });

            it("tells the app which secret holds its own account's credentials (never the master user's): the writer region's, in both roles", async () => {
                const run = await loadStack(e.stack);
                const launchTemplate = one(run, "aws:ec2/launchTemplate:LaunchTemplate", "web-lt");
                const userData = parse(Buffer.from(launchTemplate.inputs.userData, "base64").toString("utf8"));
                const env: string = userData.write_files.find((f: { path: string }) => f.path === "/etc/ecommerce/api.env").content;
                assert.match(env, /^DB_CREDENTIALS_SECRET_NAME=ecommerce\/us-east-2\/mysql-app$/m);
                assert.equal(run.outputs.dbCredentialsSecretName, "ecommerce/us-east-2/mysql-app");
                const secret = one(run, "aws:secretsmanager/secretVersion:SecretVersion", "db-app-secret");
                assert.equal(JSON.parse(secret.inputs.secretString).username, "shop_app");
            });

            it("creates exactly 3 MySQL 8.4 instances of class db.t3.2xlarge: a writer and 2 replicas", async () => {
                const run = await loadStack(e.stack);
                const instances = expectCount(run, INSTANCE, 3);
                assert.deepEqual(instances.map((i) => i.inputs.identifier).sort(), [writerId, ...replicaIds]);
                for (const i of instances) {
                    assert.equal(i.inputs.instanceClass, "db.t3.2xlarge", i.name);
                    assert.equal(i.inputs.engine, "mysql", i.name);
                    assert.equal(i.inputs.engineVersion, "8.4", i.name);
                    assert.equal(ancestorOfType(run, i, COMPONENT)?.name, "db", i.name);
                }
            });

            it(`encrypts every instance's gp3 storage with the ${e.region} database key`, async () => {
                const run = await loadStack(e.stack);
                const keyArn = dbKey(run).outputs.arn;
                assert.match(keyArn, new RegExp(`^arn:aws:kms:${e.region}:123456789012:key/`));
                for (const i of expectCount(run, INSTANCE, 3)) {
                    assert.equal(i.inputs.storageEncrypted, true, i.name);
                    assert.equal(i.inputs.kmsKeyId, keyArn, i.name);
                    assert.equal(i.inputs.storageType, "gp3", i.name);
                    assert.equal(i.inputs.maxAllocatedStorage, 1000, i.name);
                    assert.equal(i.inputs.performanceInsightsEnabled, true, i.name);
                    assert.equal(i.inputs.performanceInsightsKmsKeyId, keyArn, i.name);
                }
            });

            it("keeps every instance private, deletion-protected, patched and off paid Extended Support", async () => {
                const run = await loadStack(e.stack);
                for (const i of expectCount(run, INSTANCE, 3)) {
                    assert.equal(i.inputs.publiclyAccessible, false, i.name);
                    assert.equal(i.inputs.deletionProtection, true, i.name);
                    assert.equal(i.inputs.engineLifecycleSupport, "open-source-rds-extended-support-disabled", i.name);
                    assert.equal(i.inputs.autoMinorVersionUpgrade, true, i.name);
                    assert.equal(i.inputs.allowMajorVersionUpgrade, false, i.name);
                    assert.equal(i.inputs.copyTagsToSnapshot, true, i.name);
                    assert.deepEqual(i.inputs.enabledCloudwatchLogsExports, ["error", "slowquery"], i.name);
                    assert.equal(i.inputs.tags.Tier, "db", i.name);
                    assert.equal(i.inputs.tags.Name, i.inputs.identifier, i.name);
                }
            });

            it("protects the instances, the key, the master password, the secret and its version", async () => {
                const run = await loadStack(e.stack);
                const dataHolders = [
                    ...expectCount(run, INSTANCE, 3),
                    dbKey(run),
                    one(run, "random:index/randomPassword:RandomPassword", "db-master-password"),
                    one(run, "aws:secretsmanager/secret:Secret", "db-master-secret"),
                    one(run, "aws:secretsmanager/secretVersion:SecretVersion", "db-master-secret"),
                ];
                assert.deepEqual(
                    dataHolders.filter((r) => !r.protect).map((r) => `${r.type} ${r.name}`),
                    [],
                );
            });

            it("makes the writer Multi-AZ and leaves its zone to RDS", async () => {
                const run = await loadStack(e.stack);
                const writer = one(run, INSTANCE, "db-writer");
                assert.equal(writer.inputs.multiAz, true);
                assert.equal(writer.inputs.availabilityZone, undefined);
            });

            it(`pins the replicas to distinct zones ${e.replicaZones.join(" and ")}, single-AZ`, async () => {
                const run = await loadStack(e.stack);
                const replicas = [1, 2].map((n) => one(run, INSTANCE, `db-replica-${n}`));
                assert.deepEqual(
                    replicas.map((r) => r.inputs.availabilityZone),
                    e.replicaZones,
                );
                assert.deepEqual(
                    replicas.map((r) => r.inputs.multiAz),
                    [false, false],
                );
            });

            it("makes each replica Multi-AZ and leaves its zones to RDS with ecommerce:dbReplicaMultiAz=true, and passes tier-az-spread", async () => {
                const run = requireSuccess(await runProgram({ stack: e.stack, config: { "ecommerce:dbReplicaMultiAz": "true" } }));
                const replicas = [1, 2].map((n) => one(run, INSTANCE, `db-replica-${n}`));
                assert.deepEqual(
                    replicas.map((r) => [r.inputs.multiAz, r.inputs.availabilityZone]),
                    [
                        [true, undefined],
                        [true, undefined],
                    ],
                );
                const spread = runPolicies(run, [tierAzSpread], JUDGED_AS_OF)[0];
                assert.deepEqual(spread.violations, []);
                assert.ok(spread.examined > 0);
            });

            it("keeps 14 days of backups on the writer, retained after a deletion, and none on the replicas", async () => {
                const run = await loadStack(e.stack);
                const writer = one(run, INSTANCE, "db-writer");
                assert.equal(writer.inputs.backupRetentionPeriod, 14);
                assert.equal(writer.inputs.deleteAutomatedBackups, false);
                for (const n of [1, 2]) {
                    const replica = one(run, INSTANCE, `db-replica-${n}`);
                    // Same-region replicas hold no data of their own; RDS refuses a final snapshot of a replica.
                    assert.equal(replica.inputs.backupRetentionPeriod, 0);
                    assert.equal(replica.inputs.skipFinalSnapshot, true);
                    assert.equal(replica.inputs.finalSnapshotIdentifier, undefined);
                }
            });

            it("replicates both replicas from this region's writer by its identifier, in the writer's subnet group", async () => {
                const run = await loadStack(e.stack);
                const writer = one(run, INSTANCE, "db-writer");
                assert.equal(writer.outputs.identifier, writerId);
                for (const n of [1, 2]) {
                    const replica = one(run, INSTANCE, `db-replica-${n}`);
                    assert.equal(replica.inputs.replicateSourceDb, writerId);
                    // RDS refuses a subnet group on a same-region replica named by identifier: it inherits the writer's.
                    assert.equal(replica.inputs.dbSubnetGroupName, undefined);
                    assert.equal(replica.inputs.username, undefined);
                    assert.equal(replica.inputs.password, undefined);
                }
            });

            it("places the writer in a DB subnet group over the data subnets", async () => {
                const run = await loadStack(e.stack);
                const group = one(run, "aws:rds/subnetGroup:SubnetGroup", "db-subnets");
                const dataSubnets = ofType(run, "aws:ec2/subnet:Subnet").filter((s) => s.inputs.tags.SubnetTier === "data");
                assert.ok(dataSubnets.length >= 2);
                assert.deepEqual(
                    group.inputs.subnetIds,
                    dataSubnets.map((s) => s.id),
                );
                assert.equal(one(run, INSTANCE, "db-writer").inputs.dbSubnetGroupName, group.outputs.name);
            });

            it("gives every instance a mysql8.4 parameter group requiring TLS, logging slow queries, with row binlog, GTIDs and the event scheduler on", async () => {
                const run = await loadStack(e.stack);
                const group = one(run, "aws:rds/parameterGroup:ParameterGroup", "db-params");
                assert.equal(group.inputs.family, "mysql8.4");
                const values = Object.fromEntries(group.inputs.parameters.map((p: { name: string; value: string }) => [p.name, p.value]));
                assert.deepEqual(values, {
                    require_secure_transport: "1",
                    event_scheduler: "ON",
                    slow_query_log: "1",
                    long_query_time: "1",
                    log_output: "FILE",
                    binlog_format: "ROW",
                    binlog_row_image: "full",
                    enforce_gtid_consistency: "ON",
                    "gtid-mode": "ON",
                });
                const staticOnes = group.inputs.parameters
                    .filter((p: { applyMethod: string }) => p.applyMethod === "pending-reboot")
                    .map((p: { name: string }) => p.name);
                assert.deepEqual(staticOnes, ["enforce_gtid_consistency", "gtid-mode"]);
                for (const i of expectCount(run, INSTANCE, 3)) {
                    assert.equal(i.inputs.parameterGroupName, group.outputs.name, i.name);
                }
            });

            it(`keeps the master credentials in ${e.region}'s secret, encrypted with the database key and replicated to ${e.peer}`, async () => {
                const run = await loadStack(e.stack);
                const secret = one(run, "aws:secretsmanager/secret:Secret", "db-master-secret");
                assert.equal(secret.inputs.name, `ecommerce/${e.region}/mysql-master`);
                assert.equal(secret.inputs.kmsKeyId, dbKey(run).outputs.arn);
                assert.deepEqual(secret.inputs.replicas, [{ region: e.peer }]);
                assert.equal(secret.inputs.recoveryWindowInDays, 30);
            });

            it("stores username, password, engine, the writer's private name, port and database name as a secret JSON in the secret version", async () => {
                const run = await loadStack(e.stack);
                const version = one(run, "aws:secretsmanager/secretVersion:SecretVersion", "db-master-secret");
                const secret = one(run, "aws:secretsmanager/secret:Secret", "db-master-secret");
                const password = one(run, "random:index/randomPassword:RandomPassword", "db-master-password");
                assert.equal(version.inputs.secretId, secret.id);
                assert.deepEqual(version.secretPaths, ["secretString"]);
                assert.deepEqual(JSON.parse(version.inputs.secretString), {
                    username: "platform_admin",
                    password: password.outputs.result,
                    engine: "mysql",
                    // The private name: valid in both regions (the secret is replicated) and after a promotion.
                    host: `writer.${ZONE_NAME}`,
                    port: 3306,
                    dbname: "ecommerce",
                    dbInstanceIdentifier: writerId,
                });
            });

            it("generates a 32-character master password without the characters RDS refuses", async () => {
                const run = await loadStack(e.stack);
                const password = one(run, "random:index/randomPassword:RandomPassword", "db-master-password");
                assert.equal(password.inputs.length, 32);
                assert.equal(password.inputs.special, true);
                for (const forbidden of ["/", "@", '"', " "]) {
                    assert.ok(
                        !password.inputs.overrideSpecial.includes(forbidden),
                        `special characters include ${JSON.stringify(forbidden)}`,
                    );
                }
            });

            it("never puts the master password into another resource's inputs or the stack outputs", async () => {
                const run = await loadStack(e.stack);
                const value: string = one(run, "random:index/randomPassword:RandomPassword", "db-master-password").outputs.result;
                assert.ok(value.length >= 16);
                const allowed = new Set([
                    "random:index/randomPassword:RandomPassword db-master-password",
                    "aws:secretsmanager/secretVersion:SecretVersion db-master-secret",
                    `${INSTANCE} db-writer`,
                ]);
                const leaks = run.resources.filter((r) => !allowed.has(`${r.type} ${r.name}`) && JSON.stringify(r.inputs).includes(value));
                assert.deepEqual(
                    leaks.map((r) => `${r.type} ${r.name}`),
                    [],
                );
                assert.ok(!JSON.stringify(run.outputs).includes(value), "stack outputs hold the password");
            });

            it("admits MySQL (3306) only from the client security groups and opens nothing else", async () => {
                const run = await loadStack(e.stack);
                const sg = one(run, "aws:ec2/securityGroup:SecurityGroup", "db-sg");
                assert.equal(sg.inputs.vpcId, one(run, "aws:ec2/vpc:Vpc", "network-vpc").id);
                assert.equal(sg.inputs.ingress, undefined);
                assert.equal(sg.inputs.egress, undefined);
                const clients = expectedClients(run);
                assert.equal(clients.length, 3, "the web servers, the monitoring nodes and the writer agent are the clients");
                const rules = ofType(run, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter(
                    (r) => r.inputs.securityGroupId === sg.id,
                );
                assert.deepEqual(rules.map((r) => r.inputs.referencedSecurityGroupId).sort(), [...clients].sort());
                for (const rule of rules) {
                    assert.equal(rule.inputs.ipProtocol, "tcp", rule.name);
                    assert.equal(rule.inputs.fromPort, 3306, rule.name);
                    assert.equal(rule.inputs.toPort, 3306, rule.name);
                    assert.equal(rule.inputs.cidrIpv4, undefined, rule.name);
                    assert.equal(rule.inputs.cidrIpv6, undefined, rule.name);
                }
                assert.deepEqual(
                    ofType(run, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").filter(
                        (r) => r.inputs.securityGroupId === sg.id,
                    ),
                    [],
                );
                for (const i of expectCount(run, INSTANCE, 3)) {
                    assert.deepEqual(i.inputs.vpcSecurityGroupIds, [sg.id], i.name);
                }
            });

            it(`names writer.${ZONE_NAME} and reader.${ZONE_NAME} in a private zone of the VPC`, async () => {
                const run = await loadStack(e.stack);
                const zone = one(run, "aws:route53/zone:Zone", "db-zone");
                assert.equal(zone.inputs.name, ZONE_NAME);
                assert.deepEqual(zone.inputs.vpcs, [{ vpcId: one(run, "aws:ec2/vpc:Vpc", "network-vpc").id }]);
                const records = ofType(run, "aws:route53/record:Record").filter((r) => r.inputs.zoneId === zone.outputs.zoneId);
                assert.deepEqual(records.map((r) => r.name).sort(), ["db-reader-1", "db-reader-2", "db-writer"]);

                const writerRecord = one(run, "aws:route53/record:Record", "db-writer");
                assert.equal(writerRecord.inputs.name, `writer.${ZONE_NAME}`);
                assert.equal(writerRecord.inputs.type, "CNAME");
                assert.equal(writerRecord.inputs.ttl, 30);
                assert.deepEqual(writerRecord.inputs.records, [one(run, INSTANCE, "db-writer").outputs.address]);
                assert.equal(writerRecord.inputs.setIdentifier, undefined);

                const readers = [1, 2].map((n) => one(run, "aws:route53/record:Record", `db-reader-${n}`));
                assert.deepEqual(
                    readers.map((r) => r.inputs.name),
                    [`reader.${ZONE_NAME}`, `reader.${ZONE_NAME}`],
                );
                assert.deepEqual(
                    readers.map((r) => r.inputs.type),
                    ["CNAME", "CNAME"],
                );
                assert.deepEqual(
                    readers.map((r) => r.inputs.ttl),
                    [30, 30],
                );
                assert.deepEqual(
                    readers.map((r) => r.inputs.setIdentifier),
                    replicaIds,
                );
                assert.deepEqual(
                    readers.map((r) => r.inputs.weightedRoutingPolicies),
                    [[{ weight: 100 }], [{ weight: 100 }]],
                );
                assert.deepEqual(
                    readers.map((r) => r.inputs.records),
                    [1, 2].map((n) => [one(run, INSTANCE, `db-replica-${n}`).outputs.address]),
                );
            });

            it("rotates the database key, lets the account root administer it and gives it an alias", async () => {
                const run = await loadStack(e.stack);
                const key = dbKey(run);
                assert.equal(key.inputs.enableKeyRotation, true);
                assert.equal(key.inputs.deletionWindowInDays, 30);
                assert.deepEqual(JSON.parse(key.inputs.policy).Statement, [
                    {
                        Sid: "AccountAdministersTheKey",
                        Effect: "Allow",
                        Principal: { AWS: "arn:aws:iam::123456789012:root" },
                        Action: "kms:*",
                        Resource: "*",
                    },
                ]);
                const alias = one(run, "aws:kms/alias:Alias", "db-key-alias");
                assert.equal(alias.inputs.name, `alias/${writerId}`);
                assert.equal(alias.inputs.targetKeyId, key.outputs.keyId);
            });

            it("sends Enhanced Monitoring every 60 s through a role only RDS monitoring can assume", async () => {
                const run = await loadStack(e.stack);
                const role = one(run, "aws:iam/role:Role", "db-monitoring");
                assert.deepEqual(JSON.parse(role.inputs.assumeRolePolicy).Statement, [
                    { Effect: "Allow", Principal: { Service: "monitoring.rds.amazonaws.com" }, Action: "sts:AssumeRole" },
                ]);
                const attachment = one(run, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "db-monitoring");
                assert.equal(attachment.inputs.role, role.outputs.name);
                assert.equal(attachment.inputs.policyArn, "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole");
                for (const i of expectCount(run, INSTANCE, 3)) {
                    assert.equal(i.inputs.monitoringInterval, 60, i.name);
                    assert.equal(i.inputs.monitoringRoleArn, role.outputs.arn, i.name);
                }
            });
        });
    }

    it("makes the primary writer a primary instance with the master user, a secret password and a final snapshot", async () => {
        const run = await loadStack("primary");
        const writer = one(run, INSTANCE, "db-writer");
        assert.equal(writer.inputs.replicateSourceDb, undefined);
        assert.equal(writer.inputs.username, "platform_admin");
        assert.equal(writer.inputs.dbName, "ecommerce");
        assert.equal(writer.inputs.password, one(run, "random:index/randomPassword:RandomPassword", "db-master-password").outputs.result);
        assert.ok(writer.secretPaths.includes("password"), "the password input is a secret");
        assert.equal(writer.inputs.allocatedStorage, 200);
        assert.equal(writer.inputs.skipFinalSnapshot, false);
        assert.equal(writer.inputs.finalSnapshotIdentifier, "ecommerce-mysql-us-east-2-final");
    });

    it("makes the dr writer a cross-region replica of the derived us-east-2 writer ARN, with its own key and backups", async () => {
        const run = await loadStack("dr");
        const writer = one(run, INSTANCE, "db-writer");
        assert.equal(writer.inputs.replicateSourceDb, "arn:aws:rds:us-east-2:123456789012:db:ecommerce-mysql-us-east-2");
        assert.equal(writer.inputs.kmsKeyId, dbKey(run).outputs.arn);
        assert.match(writer.inputs.kmsKeyId, /^arn:aws:kms:us-west-1:/);
        assert.ok(writer.inputs.backupRetentionPeriod >= 7, "the standby writer keeps backups (promotion, cascaded replicas)");
        assert.equal(writer.inputs.username, undefined);
        assert.equal(writer.inputs.password, undefined);
        assert.equal(writer.inputs.dbName, undefined);
        // The derived source needs no lookup: no StackReference, no RDS query.
        assert.deepEqual(ofType(run, "pulumi:pulumi:StackReference"), []);
        assert.deepEqual(
            run.invokes.filter((i) => i.token.startsWith("aws:rds/")),
            [],
        );
    });

    it("exports the endpoint names, the writer identifier and the writer region's credentials secret from both stacks", async () => {
        const [primary, dr] = await Promise.all([loadStack("primary"), loadStack("dr")]);
        const common = {
            dbWriterEndpoint: `writer.${ZONE_NAME}`,
            dbReaderEndpoint: `reader.${ZONE_NAME}`,
            dbCredentialsSecretName: "ecommerce/us-east-2/mysql-app",
        };
        assert.deepEqual(pick(primary.outputs), { ...common, dbWriterIdentifier: "ecommerce-mysql-us-east-2" });
        assert.deepEqual(pick(dr.outputs), {
            ...common,
            dbWriterIdentifier: "ecommerce-mysql-us-west-1",
            dbReplicationSourceArn: "arn:aws:rds:us-east-2:123456789012:db:ecommerce-mysql-us-east-2",
        });
    });

    it("creates the same database resources under the same names in both roles", async () => {
        const [primary, dr] = await Promise.all([loadStack("primary"), loadStack("dr")]);
        const names = (run: StackRun) =>
            dbResources(run)
                .map((r) => `${r.type} ${r.name}`)
                .sort();
        assert.deepEqual(names(primary), [
            "aws:ec2/securityGroup:SecurityGroup db-sg",
            "aws:iam/role:Role db-monitoring",
            "aws:iam/rolePolicy:RolePolicy db-app-credentials-to-web",
            "aws:iam/rolePolicy:RolePolicy db-credentials-to-backup",
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment db-monitoring",
            "aws:kms/alias:Alias db-key-alias",
            "aws:kms/key:Key db-key",
            `${INSTANCE} db-replica-1`,
            `${INSTANCE} db-replica-2`,
            `${INSTANCE} db-writer`,
            "aws:rds/parameterGroup:ParameterGroup db-params",
            "aws:rds/subnetGroup:SubnetGroup db-subnets",
            "aws:route53/record:Record db-reader-1",
            "aws:route53/record:Record db-reader-2",
            "aws:route53/record:Record db-writer",
            "aws:route53/zone:Zone db-zone",
            "aws:secretsmanager/secret:Secret db-app-secret",
            "aws:secretsmanager/secret:Secret db-master-secret",
            "aws:secretsmanager/secretVersion:SecretVersion db-app-secret",
            "aws:secretsmanager/secretVersion:SecretVersion db-master-secret",
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule db-mysql-from-agent",
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule db-mysql-from-monitoring",
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule db-mysql-from-web",
            "random:index/randomPassword:RandomPassword db-app-password",
            "random:index/randomPassword:RandomPassword db-master-password",
        ]);
        assert.deepEqual(names(dr), names(primary));
    });

    it("derives every replication source before anything exists (first preview)", async () => {
        const run = await loadStack("dr", true);
        assert.equal(
            one(run, INSTANCE, "db-writer").inputs.replicateSourceDb,
            "arn:aws:rds:us-east-2:123456789012:db:ecommerce-mysql-us-east-2",
        );
        for (const n of [1, 2]) {
            assert.equal(one(run, INSTANCE, `db-replica-${n}`).inputs.replicateSourceDb, "ecommerce-mysql-us-west-1");
        }
    });

    it("flips the roles when ecommerce:writerRegion is us-west-1", async () => {
        const config = { "ecommerce:writerRegion": "us-west-1" };
        const [dr, primary] = [
            requireSuccess(await runProgram({ stack: "dr", config })),
            requireSuccess(await runProgram({ stack: "primary", config })),
        ];
        const drWriter = one(dr, INSTANCE, "db-writer");
        assert.equal(drWriter.inputs.replicateSourceDb, undefined);
        assert.equal(drWriter.inputs.username, "platform_admin");
        assert.equal(drWriter.inputs.password, one(dr, "random:index/randomPassword:RandomPassword", "db-master-password").outputs.result);
        assert.equal(drWriter.inputs.finalSnapshotIdentifier, "ecommerce-mysql-us-west-1-final");
        assert.equal(dr.outputs.dbCredentialsSecretName, "ecommerce/us-west-1/mysql-app");
        assert.equal(dr.outputs.dbReplicationSourceArn, undefined);

        const primaryWriter = one(primary, INSTANCE, "db-writer");
        assert.equal(primaryWriter.inputs.replicateSourceDb, "arn:aws:rds:us-west-1:123456789012:db:ecommerce-mysql-us-west-1");
        assert.equal(primaryWriter.inputs.kmsKeyId, dbKey(primary).outputs.arn);
        assert.match(primaryWriter.inputs.kmsKeyId, /^arn:aws:kms:us-east-2:/);
        assert.equal(primaryWriter.inputs.password, undefined);
        assert.equal(primary.outputs.dbCredentialsSecretName, "ecommerce/us-west-1/mysql-app");
        assert.equal(primary.outputs.dbReplicationSourceArn, "arn:aws:rds:us-west-1:123456789012:db:ecommerce-mysql-us-west-1");
        for (const n of [1, 2]) {
            assert.equal(one(primary, INSTANCE, `db-replica-${n}`).inputs.replicateSourceDb, "ecommerce-mysql-us-east-2");
        }
    });

    it("points reader at the writer when there are no replicas", async () => {
        const run = requireSuccess(await runProgram({ stack: "dr", config: { "ecommerce:dbReplicaCount": "0" } }));
        const writer = one(run, INSTANCE, "db-writer");
        expectCount(run, INSTANCE, 1);
        const reader = one(run, "aws:route53/record:Record", "db-reader");
        assert.equal(reader.inputs.name, `reader.${ZONE_NAME}`);
        assert.deepEqual(reader.inputs.records, [writer.outputs.address]);
        assert.equal(reader.inputs.setIdentifier, undefined);
    });

    describe("argument validation", () => {
        const valid: DatabaseClusterArgs = {
            role: "standby",
            region: "us-west-1",
            writerRegion: "us-east-2",
            peerRegion: "us-east-2",
            accountId: "123456789012",
            identifierBase: "ecommerce-mysql",
            secretNamePrefix: "ecommerce",
            vpcId: "vpc-1",
            subnetIds: ["subnet-1", "subnet-2"],
            zoneNames: ["us-west-1c", "us-west-1b"],
            clientSecurityGroupIds: { web: "sg-1" },
            privateZoneName: ZONE_NAME,
            instanceClass: "db.t3.2xlarge",
            dbName: "ecommerce",
            masterUsername: "platform_admin",
        };
        const cases: [string, Partial<DatabaseClusterArgs>, string][] = [
            [
                "rejects a standby whose writer region is not the peer region",
                { writerRegion: "eu-west-1" },
                'writerRegion = "eu-west-1": expected the peer region (us-east-2) in the standby role',
            ],
            [
                "rejects a writer role whose writer region is another region",
                { role: "writer" },
                'writerRegion = "us-east-2": expected this region (us-west-1) in the writer role',
            ],
            [
                "rejects backups kept for less than 7 days",
                { backupRetentionDays: 3 },
                "backupRetentionDays = 3: expected an integer from 7 to 35 (days)",
            ],
            [
                "rejects a storage ceiling below the allocated storage",
                { allocatedStorageGiB: 500, maxAllocatedStorageGiB: 400 },
                "maxAllocatedStorageGiB = 400: expected an integer from allocatedStorageGiB (500) to 65536",
            ],
            [
                "rejects a single zone",
                { subnetIds: ["subnet-1"], zoneNames: ["us-west-1c"] },
                'zoneNames = ["us-west-1c"]: expected at least 2 distinct zones, one per subnet in subnetIds (1)',
            ],
            [
                "rejects an Enhanced Monitoring interval RDS does not offer",
                { monitoringIntervalSeconds: 20 },
                "monitoringIntervalSeconds = 20: expected one of 0, 1, 5, 10, 15, 30, 60",
            ],
        ];
        for (const [name, change, message] of cases) {
            it(name, () => {
                assert.deepEqual(databaseClusterArgsProblems({ ...valid, ...change }), [message]);
            });
        }

        it("accepts the standby of the stack files", () => {
            assert.deepEqual(databaseClusterArgsProblems(valid), []);
        });

        it("rejects a client keyed by something that cannot name a resource", () => {
            assert.deepEqual(databaseClusterArgsProblems({ ...valid, clientSecurityGroupIds: { "Web Servers": "sg-1" } }), [
                'client key = "Web Servers": expected a Kubernetes name (lowercase letters, digits and hyphens, at most 63)',
            ]);
        });

        it("throws every problem at once, naming the component, before registering anything", () => {
            assert.throws(() => new DatabaseCluster("db", { ...valid, backupRetentionDays: 3, monitoringIntervalSeconds: 20 }), {
                message:
                    "DatabaseCluster db: invalid arguments:\n" +
                    "  - backupRetentionDays = 3: expected an integer from 7 to 35 (days)\n" +
                    "  - monitoringIntervalSeconds = 20: expected one of 0, 1, 5, 10, 15, 30, 60",
            });
        });
    });
});

function pick(outputs: Record<string, any>): Record<string, unknown> {
    return Object.fromEntries(Object.entries(outputs).filter(([key]) => key.startsWith("db")));
}
