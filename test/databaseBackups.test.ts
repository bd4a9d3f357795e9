/**
 * The database backups as each site deploys them (components/databaseBackups.ts, the backup
 * job in components/monitoringStack.ts): buckets and keys in both backup regions, their
 * immutability and access, the writer's RDS backup replication by role, the job's CronJobs
 * and grants; the config keys' validation; the two backup policies on the real stacks.
 */
import { strict as assert } from "assert";
import { parseConfig } from "../lib/config";
import { runPolicies } from "../offline/policyRunner";
import { loadStack, RecordedResource, StackRun } from "../offline/run";
import { resolveStackConfig } from "../offline/stackConfig";
import { backupBucketsElsewhere, rdsBackupsReplicated } from "../policies/backups";

const one = (run: StackRun, type: string, name: string): RecordedResource => {
    const found = run.resources.filter((r) => r.type === type && r.name === name);
    assert.equal(found.length, 1, `${run.stack}: ${type} ${name}`);
    return found[0];
};
const regionOf = (arn: string) => arn.split(":")[3];
const SITES = [
    { stack: "primary", region: "us-east-2", role: "writer" },
    { stack: "dr", region: "us-west-1", role: "standby" },
] as const;

describe("DatabaseBackups", () => {
    for (const site of SITES) {
        describe(`stack ${site.stack}`, () => {
            it("keeps an Object Lock bucket in us-west-2 and us-east-1, named from the account and both regions, protected", async () => {
                const run = await loadStack(site.stack);
                for (const region of ["us-west-2", "us-east-1"]) {
                    const bucket = one(run, "aws:s3/bucket:Bucket", `backups-${region}`);
                    assert.equal(bucket.inputs.bucket, `ecommerce-db-backups-123456789012-${site.region}-${region}`);
                    assert.equal(bucket.inputs.region, region);
                    assert.equal(bucket.inputs.objectLockEnabled, true, "Object Lock only at creation");
                    assert.equal(bucket.inputs.forceDestroy, false);
                    assert.equal(bucket.protect, true);
                    const lock = one(run, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", `backups-${region}`);
                    assert.deepEqual(lock.inputs.rule, { defaultRetention: { mode: "GOVERNANCE", days: 35 } });
                    assert.deepEqual(
                        one(run, "aws:s3/bucketVersioning:BucketVersioning", `backups-${region}`).inputs.versioningConfiguration,
                        {
                            status: "Enabled",
                        },
                    );
                    // SSE-KMS with a key of the bucket's own region, rotated, protected
                    const key = one(run, "aws:kms/key:Key", `backups-${region}-key`);
                    assert.equal(regionOf(key.outputs.arn), region);
                    assert.equal(key.inputs.enableKeyRotation, true);
                    assert.equal(key.protect, true);
                    const sse = one(
                        run,
                        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                        `backups-${region}`,
                    );
                    assert.deepEqual(sse.inputs.rules, [
                        {
                            applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: key.outputs.arn },
                            bucketKeyEnabled: true,
                        },
                    ]);
                    const block = one(run, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", `backups-${region}`).inputs;
                    assert.deepEqual(
                        [block.blockPublicAcls, block.blockPublicPolicy, block.ignorePublicAcls, block.restrictPublicBuckets],
                        [true, true, true, true],
                    );
                    const policy = JSON.parse(one(run, "aws:s3/bucketPolicy:BucketPolicy", `backups-${region}`).inputs.policy);
                    assert.deepEqual(policy.Statement, [
                        {
                            Sid: "TlsOnly",
                            Effect: "Deny",
                            Principal: "*",
                            Action: "s3:*",
                            Resource: [bucket.outputs.arn, `${bucket.outputs.arn}/*`],
                            Condition: { Bool: { "aws:SecureTransport": "false" } },
                        },
                    ]);
                    const lifecycle = one(run, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", `backups-${region}`);
                    const [backups, markers] = lifecycle.inputs.rules;
                    assert.deepEqual(backups.transitions, [{ days: 30, storageClass: "GLACIER_IR" }]);
                    assert.deepEqual(backups.expiration, { days: 365 });
                    assert.deepEqual(markers.expiration, { expiredObjectDeleteMarker: true });
                }
            });

            it(
                site.role === "writer"
                    ? "replicates the writer's RDS automated backups to us-west-2, with us-west-2's key"
                    : "replicates no RDS automated backups (its writer is a read replica)",
                async () => {
                    const run = await loadStack(site.stack);
                    const replications = run.resources.filter(
                        (r) => r.type === "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication",
                    );
                    if (site.role === "standby") {
                        assert.deepEqual(replications, []);
                        return;
                    }
                    assert.equal(replications.length, 1);
                    const [r] = replications;
                    assert.equal(r.inputs.region, "us-west-2");
                    assert.equal(r.inputs.sourceDbInstanceArn, one(run, "aws:rds/instance:Instance", "db-writer").outputs.arn);
                    assert.equal(r.inputs.kmsKeyId, one(run, "aws:kms/key:Key", "backups-us-west-2-key").outputs.arn);
                    assert.equal(r.inputs.retentionPeriod, 7);
                    assert.ok(r.dependencies.includes(one(run, "aws:rds/instance:Instance", "db-writer").urn));
                },
            );

            it("runs the dump from the site's read replicas every night and the verification every six hours, as CronJobs", async () => {
                const run = await loadStack(site.stack);
                const dump = one(run, "kubernetes:batch/v1:CronJob", "monitoring-db-backup-job").inputs;
                assert.equal(dump.metadata.name, "db-backup");
                assert.equal(dump.spec.schedule, "17 3 * * *");
                assert.equal(dump.spec.concurrencyPolicy, "Forbid");
                const pod = dump.spec.jobTemplate.spec.template.spec;
                assert.equal(pod.serviceAccountName, "db-backup");
                const [container] = pod.containers;
                assert.equal(container.image, "public.ecr.aws/acme-retail/ecommerce-backup:1.0.0");
                assert.deepEqual(container.args, [
                    "dump",
                    "--database",
                    "ecommerce",
                    "--host",
                    "reader.db.ecommerce.internal",
                    "--port",
                    "3306",
                    "--ssl-ca",
                    "/etc/ssl/rds/global-bundle.pem",
                    "--credentials-secret",
                    "ecommerce/us-east-2/mysql-master",
                    "--secret-region",
                    site.region,
                    "--source-region",
                    site.region,
                    "--bucket",
                    `us-west-2=ecommerce-db-backups-123456789012-${site.region}-us-west-2`,
                    "--bucket",
                    `us-east-1=ecommerce-db-backups-123456789012-${site.region}-us-east-1`,
                    "--publish-metric",
                ]);
                assert.ok(!JSON.stringify(dump).includes("password"), "no credential in the job, only the secret's name");
                assert.equal(container.securityContext.readOnlyRootFilesystem, true);
                // The dump's scratch: a gp3 volume per run, sized for the database's autoscaling ceiling, of the Delete class.
                assert.deepEqual(pod.volumes[0].ephemeral.volumeClaimTemplate.spec, {
                    accessModes: ["ReadWriteOnce"],
                    storageClassName: "gp3-scratch",
                    resources: { requests: { storage: "1000Gi" } },
                });
                const verify = one(run, "kubernetes:batch/v1:CronJob", "monitoring-db-backup-verify-job").inputs;
                assert.equal(verify.spec.schedule, "47 */6 * * *");
                assert.deepEqual(verify.spec.jobTemplate.spec.template.spec.containers[0].args.slice(-2), ["--max-age-hours", "26"]);
                // verify hashes as it downloads: no volume of its own.
                assert.deepEqual(verify.spec.jobTemplate.spec.template.spec.volumes, [{ name: "scratch", emptyDir: { sizeLimit: "1Gi" } }]);
            });

            it("leaks no volume: every claim of every backup job is of a StorageClass that deletes its volume, and finished jobs go within a day", async () => {
                const run = await loadStack(site.stack);
                const classes = new Map(
                    run.resources
                        .filter((r) => r.type === "kubernetes:storage.k8s.io/v1:StorageClass")
                        .map((r) => [r.inputs.metadata.name as string, r.inputs.reclaimPolicy as string | undefined]),
                );
                const jobs = run.resources.filter(
                    (r) => r.type === "kubernetes:batch/v1:CronJob" && r.name.startsWith("monitoring-db-backup"),
                );
                assert.equal(jobs.length, 2, "the dump and the verify CronJobs");
                let claims = 0;
                for (const job of jobs) {
                    const spec = job.inputs.spec.jobTemplate.spec;
                    assert.equal(spec.ttlSecondsAfterFinished, 86400, job.name);
                    for (const volume of spec.template.spec.volumes ?? []) {
                        const claim = volume.ephemeral?.volumeClaimTemplate?.spec ?? volume.persistentVolumeClaim;
                        if (claim === undefined) {
                            continue;
                        }
                        claims++;
                        const className: string = claim.storageClassName;
                        assert.ok(classes.has(className), `${job.name}: claim of class ${className}, which the stack does not create`);
                        // A class without reclaimPolicy deletes (Kubernetes' default); Retain keeps an EBS volume per run.
                        assert.notEqual(
                            classes.get(className) ?? "Delete",
                            "Retain",
                            `${job.name}: claim of the Retain class ${className}`,
                        );
                    }
                }
                assert.equal(claims, 1, "the dump's scratch volume");
                assert.equal(classes.get("gp3"), "Retain", "monitoring data keeps its volumes");
            });

            it("lets the job's role read the credentials, put and get backups through the buckets' keys, publish its metric: nothing else", async () => {
                const run = await loadStack(site.stack);
                const association = one(run, "aws:eks/podIdentityAssociation:PodIdentityAssociation", "monitoring-db-backup");
                const role = one(run, "aws:iam/role:Role", "monitoring-db-backup");
                assert.deepEqual(
                    [association.inputs.namespace, association.inputs.serviceAccount, association.inputs.roleArn],
                    ["monitoring", "db-backup", role.outputs.arn],
                );
                const policyOf = (name: string) => {
                    const p = one(run, "aws:iam/rolePolicy:RolePolicy", name);
                    assert.equal(p.inputs.role, role.outputs.name, `${name} is on the job's role`);
                    return JSON.parse(p.inputs.policy).Statement;
                };
                assert.deepEqual(policyOf("monitoring-db-backup-metrics"), [
                    {
                        Sid: "PublishBackupMetrics",
                        Effect: "Allow",
                        Action: "cloudwatch:PutMetricData",
                        Resource: "*",
                        Condition: { StringEquals: { "cloudwatch:namespace": "Ecommerce/Backups" } },
                    },
                ]);
                const bucketArn = (r: string) => one(run, "aws:s3/bucket:Bucket", `backups-${r}`).outputs.arn;
                const keyArn = (r: string) => one(run, "aws:kms/key:Key", `backups-${r}-key`).outputs.arn;
                assert.deepEqual(policyOf("backups-to-backup"), [
                    {
                        Sid: "ListBackups",
                        Effect: "Allow",
                        Action: "s3:ListBucket",
                        Resource: [bucketArn("us-west-2"), bucketArn("us-east-1")],
                    },
                    {
                        Sid: "WriteAndReadBackups",
                        Effect: "Allow",
                        Action: ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"],
                        Resource: [`${bucketArn("us-west-2")}/*`, `${bucketArn("us-east-1")}/*`],
                    },
                    ...["us-west-2", "us-east-1"].map((r, i) => ({
                        Sid: `BackupKey${i + 1}`,
                        Effect: "Allow",
                        Action: ["kms:GenerateDataKey", "kms:Decrypt"],
                        Resource: keyArn(r),
                        Condition: { StringEquals: { "kms:ViaService": `s3.${r}.amazonaws.com` } },
                    })),
                ]);
                // Exactly these policies are on the job's role: no Redis password, nothing else.
                assert.deepEqual(
                    run.resources
                        .filter((r) => r.type === "aws:iam/rolePolicy:RolePolicy" && r.inputs.role === role.outputs.name)
                        .map((r) => r.name)
                        .sort(),
                    ["backups-to-backup", "db-credentials-to-backup", "monitoring-db-backup-metrics"],
                );
                assert.deepEqual(
                    run.resources.filter(
                        (r) => r.type === "aws:iam/rolePolicyAttachment:RolePolicyAttachment" && r.inputs.role === role.outputs.name,
                    ),
                    [],
                );
                const credentials = policyOf("db-credentials-to-backup");
                assert.deepEqual(
                    credentials.map((s: { Action: string }) => s.Action),
                    site.role === "writer" ? ["secretsmanager:GetSecretValue", "kms:Decrypt"] : ["secretsmanager:GetSecretValue"],
                );
            });

            it("alarms when no backup completed in two days (26 h, in whole days; no data is a breach) and alerts on a failed or stale job", async () => {
                const run = await loadStack(site.stack);
                const alarm = one(run, "aws:cloudwatch/metricAlarm:MetricAlarm", "backups-missing").inputs;
                assert.deepEqual(
                    [
                        alarm.namespace,
                        alarm.metricName,
                        alarm.dimensions,
                        alarm.statistic,
                        alarm.period,
                        alarm.evaluationPeriods,
                        alarm.treatMissingData,
                    ],
                    ["Ecommerce/Backups", "BackupsCompleted", { Database: "ecommerce" }, "Sum", 86400, 2, "breaching"],
                );
                assert.deepEqual(alarm.alarmActions, [one(run, "aws:sns/topic:Topic", "failover-topic").outputs.arn]);
                const kps = one(run, "kubernetes:helm.sh/v3:Release", "monitoring-kube-prometheus-stack");
                const groups = kps.inputs.values.additionalPrometheusRulesMap["ecommerce-platform"].groups;
                const backups = groups.find((g: { name: string }) => g.name === "ecommerce-backups");
                assert.deepEqual(
                    backups.rules.map((r: { alert: string; expr: string }) => [r.alert, r.expr]),
                    [
                        [
                            "DatabaseBackupFailed",
                            'kube_job_status_condition{namespace="monitoring",job_name=~"db-backup(-verify)?-[0-9]+",condition="Failed",status="true"} == 1 ' +
                                'and on (namespace, job_name) (time() - kube_job_created{namespace="monitoring"} < 86400)',
                        ],
                        [
                            "DatabaseBackupTooOld",
                            'time() - kube_cronjob_status_last_successful_time{namespace="monitoring",cronjob="db-backup"} > 93600',
                        ],
                        [
                            "DatabaseBackupNeverSucceeded",
                            'absent(kube_cronjob_status_last_successful_time{namespace="monitoring",cronjob="db-backup"})',
                        ],
                    ],
                );
            });
        });
    }

    describe("config", () => {
        const parse = (over: Record<string, string>) => {
            const raw = resolveStackConfig("dr");
            return () => parseConfig((k) => over[k] ?? raw[k], "dr");
        };
        const cases: [string, Record<string, string>, string][] = [
            [
                "a site region among the backup regions",
                { "ecommerce:backupRegions": '["us-west-2","us-west-1"]' },
                `ecommerce:backupRegions = ["us-west-2","us-west-1"]: expected regions other than the sites' (us-east-2, us-west-1): a backup must survive the loss of both sites' regions`,
            ],
            [
                "one backup region",
                { "ecommerce:backupRegions": '["us-west-2"]' },
                'ecommerce:backupRegions = ["us-west-2"]: expected a list of at least two distinct AWS regions, neither site region',
            ],
            [
                "a region twice",
                { "ecommerce:backupRegions": '["us-west-2","us-west-2"]' },
                'ecommerce:backupRegions = ["us-west-2","us-west-2"]: expected distinct regions (each listed once)',
            ],
            [
                "expiry before the lock ends",
                { "ecommerce:backupExpirationDays": "30" },
                "ecommerce:backupExpirationDays = 30: expected at least ecommerce:backupRetentionDays (35): locked objects cannot expire earlier",
            ],
            [
                "an unknown lock mode",
                { "ecommerce:backupObjectLockMode": "LEGAL" },
                'ecommerce:backupObjectLockMode = "LEGAL": expected one of GOVERNANCE, COMPLIANCE',
            ],
            [
                "a floating image",
                { "ecommerce:backupImage": "public.ecr.aws/acme-retail/ecommerce-backup:latest" },
                "ecommerce:backupImage",
            ],
            [
                "a schedule that is not cron",
                { "ecommerce:backupSchedule": "daily" },
                'ecommerce:backupSchedule = "daily": expected a five-field cron schedule',
            ],
            [
                "a backup RPO above CloudWatch's 7 days",
                { "ecommerce:backupMaxAgeHours": "200" },
                "ecommerce:backupMaxAgeHours = 200: expected an integer from 1 to 168",
            ],
        ];
        for (const [what, over, message] of cases) {
            it(`refuses ${what}, naming the key`, () => {
                assert.throws(parse(over), (err: Error) => err.message.includes(message));
            });
        }
    });

    describe("policies on the real stacks", () => {
        const without = (
            run: StackRun,
            pick: (r: RecordedResource) => boolean,
            change: (r: RecordedResource) => RecordedResource | undefined,
        ): StackRun => ({
            ...run,
            resources: run.resources.flatMap((r) => {
                if (!pick(r)) {
                    return [r];
                }
                const changed = change(r);
                return changed ? [changed] : [];
            }),
        });
        const messages = (run: StackRun, policy: typeof backupBucketsElsewhere) =>
            runPolicies(run, [policy])[0].violations.map((v) => v.message);

        it("pass on both stacks as the program builds them", async () => {
            for (const site of SITES) {
                const run = await loadStack(site.stack);
                assert.deepEqual(messages(run, backupBucketsElsewhere), [], site.stack);
                assert.deepEqual(messages(run, rdsBackupsReplicated), [], site.stack);
            }
        });

        it("backup-buckets-elsewhere: a bucket without Object Lock, and then too few good regions", async () => {
            const run = without(
                await loadStack("primary"),
                (r) => r.type === "aws:s3/bucket:Bucket" && r.name === "backups-us-east-1",
                (r) => ({ ...r, inputs: { ...r.inputs, objectLockEnabled: false }, outputs: { ...r.outputs, objectLockEnabled: false } }),
            );
            assert.deepEqual(messages(run, backupBucketsElsewhere), [
                "backup bucket backups-us-east-1 (us-east-1): not created with Object Lock (it can only be turned on at creation)",
                "the database backups are in 1 region(s) other than us-east-2 with Object Lock, versioning and KMS (us-west-2); at least 2 are required",
            ]);
        });

        it("backup-buckets-elsewhere: no versioning, no default retention", async () => {
            const run = without(
                await loadStack("dr"),
                (r) =>
                    r.name === "backups-us-west-2" &&
                    [
                        "aws:s3/bucketVersioning:BucketVersioning",
                        "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
                    ].includes(r.type),
                () => undefined,
            );
            assert.match(
                messages(run, backupBucketsElsewhere)[0],
                /^backup bucket backups-us-west-2 \(us-west-2\): no default Object Lock retention; versioning not enabled$/,
            );
        });

        it("rds-backups-replicated: the writer without replication, the standby with one", async () => {
            const primary = await loadStack("primary");
            const replication = primary.resources.find((r) => r.name === "backups-rds-replication")!;
            const writerOnly = without(
                primary,
                (r) => r === replication,
                () => undefined,
            );
            assert.deepEqual(messages(writerOnly, rdsBackupsReplicated), [
                "the writer's automated backups are not replicated to another region (aws.rds.InstanceAutomatedBackupsReplication)",
            ]);
            const dr = await loadStack("dr");
            const standbyWith: StackRun = { ...dr, resources: [...dr.resources, replication] };
            assert.deepEqual(messages(standbyWith, rdsBackupsReplicated), [
                "backups-rds-replication: the standby's writer is a read replica; replicate backups from the writer site only",
            ]);
        });
    });
});
