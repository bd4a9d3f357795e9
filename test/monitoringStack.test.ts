import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse, stringify } from "yaml";
import { MonitoringStack, MonitoringStackArgs, monitoringStackArgsProblems } from "../components/monitoringStack";
import { pinnedNodes } from "../lib/placement";
import { loadStack, RecordedResource, requireSuccess, runProgram, StackRun } from "../offline/run";
import { childrenOf, expectCount, one, ofType } from "./support/query";
import { requireTool } from "./support/tools";

const COMPONENT = "ecommerce:monitoring:MonitoringStack";
const RELEASE = "kubernetes:helm.sh/v3:Release";
const MOCK_WEBHOOK_URL = "https://hooks.example.invalid/services/T000/B000/mock";

/** Everything under the monitoring component (deep). */
function monitoringResources(run: StackRun): RecordedResource[] {
    return childrenOf(run, one(run, COMPONENT, "monitoring"), true);
}

/** The one resource of `type` under the monitoring component named `name`. */
function child(run: StackRun, type: string, name: string): RecordedResource {
    const found = monitoringResources(run).filter((r) => r.type === type && r.name === name);
    assert.equal(found.length, 1, `expected one ${type} ${name} under the monitoring stack, found ${found.length}`);
    return found[0];
}

function privateSubnets(run: StackRun): RecordedResource[] {
    return ofType(run, "aws:ec2/subnet:Subnet").filter((s) => s.inputs.tags.SubnetTier === "private");
}

function kpsValues(run: StackRun): any {
    return child(run, RELEASE, "monitoring-kube-prometheus-stack").inputs.values;
}

/** Static configs of the synthetic scrape jobs, flattened to one entry per target. */
function probeEntries(run: StackRun): { target: string; labels: Record<string, string>; job: string }[] {
    const configs: any[] = kpsValues(run).prometheus.prometheusSpec.additionalScrapeConfigs;
    return configs
        .filter((c) => c.job_name.startsWith("synthetic-"))
        .flatMap((c) => c.static_configs.map((sc: any) => ({ target: sc.targets[0], labels: sc.labels, job: c.job_name })));
}

describe("MonitoringStack", () => {
    const expectations = [
        { stack: "primary", region: "us-east-2", zones: 3, origin: "origin-us-east-2.shop.example.com" },
        { stack: "dr", region: "us-west-1", zones: 2, origin: "origin-us-west-1.shop.example.com" },
    ];
    for (const e of expectations) {
        describe(`stack ${e.stack}`, () => {
            it(`creates one EKS 1.36 cluster in the VPC's ${e.zones} private subnets, API authentication, no default node group`, async () => {
                const run = await loadStack(e.stack);
                const [cluster] = expectCount(run, "eks:index:Cluster", 1);
                assert.equal(cluster.parent, one(run, COMPONENT, "monitoring").urn);
                assert.equal(cluster.inputs.version, "1.36");
                assert.equal(cluster.inputs.vpcId, one(run, "aws:ec2/vpc:Vpc", "network-vpc").id);
                assert.deepEqual(
                    cluster.inputs.privateSubnetIds,
                    privateSubnets(run).map((s) => s.id),
                );
                assert.equal(cluster.inputs.publicSubnetIds, undefined);
                assert.equal(cluster.inputs.skipDefaultNodeGroup, true);
                assert.equal(cluster.inputs.skipDefaultSecurityGroups, true);
                assert.equal(cluster.inputs.authenticationMode, "API");
                assert.equal(cluster.inputs.name, `ecommerce-${e.stack}-monitoring`);
                assert.equal(cluster.inputs.deletionProtection, true);
                assert.deepEqual(cluster.inputs.upgradePolicy, { supportType: "STANDARD" });
                assert.equal(cluster.inputs.tags.Tier, "monitoring");
            });

            it("opens the public API endpoint only to the configured CIDRs (never 0.0.0.0/0), with the private endpoint on", async () => {
                const run = await loadStack(e.stack);
                const cluster = child(run, "eks:index:Cluster", "monitoring-eks");
                assert.deepEqual(cluster.inputs.publicAccessCidrs, JSON.parse(run.config["ecommerce:eksApiAllowedCidrs"]));
                assert.deepEqual(cluster.inputs.publicAccessCidrs, ["203.0.113.0/24"]);
                assert.ok(!cluster.inputs.publicAccessCidrs.includes("0.0.0.0/0"));
                assert.equal(cluster.inputs.endpointPublicAccess, true);
                assert.equal(cluster.inputs.endpointPrivateAccess, true);
            });

            it("logs api, audit and authenticator for 90 days and encrypts secrets with its own rotating KMS key", async () => {
                const run = await loadStack(e.stack);
                const cluster = child(run, "eks:index:Cluster", "monitoring-eks");
                assert.deepEqual(cluster.inputs.enabledClusterLogTypes, ["api", "audit", "authenticator"]);
                const logs = child(run, "aws:cloudwatch/logGroup:LogGroup", "monitoring-control-plane-logs");
                assert.equal(logs.inputs.name, `/aws/eks/ecommerce-${e.stack}-monitoring/cluster`);
                assert.equal(logs.inputs.retentionInDays, 90);
                assert.ok(cluster.dependencies.includes(logs.urn), "the log group exists before the cluster");
                const key = child(run, "aws:kms/key:Key", "monitoring-eks-secrets");
                assert.equal(cluster.inputs.encryptionConfigKeyArn, key.outputs.arn);
                assert.equal(key.inputs.enableKeyRotation, true);
            });

            it(`runs exactly one managed node group of 2 x t3.large (min = desired = 2, max 4) across all ${e.zones} private subnets`, async () => {
                const run = await loadStack(e.stack);
                const [group] = expectCount(run, "eks:index:ManagedNodeGroup", 1);
                assert.equal(group.inputs.cluster, child(run, "eks:index:Cluster", "monitoring-eks").urn);
                assert.deepEqual(group.inputs.instanceTypes, ["t3.large"]);
                assert.deepEqual(group.inputs.scalingConfig, { minSize: 2, desiredSize: 2, maxSize: 4 });
                const subnets = privateSubnets(run);
                assert.equal(subnets.length, e.zones);
                assert.deepEqual(
                    group.inputs.subnetIds,
                    subnets.map((s) => s.id),
                );
                assert.equal(new Set(subnets.map((s) => s.outputs.availabilityZoneId)).size, e.zones, "one subnet per zone");
                assert.equal(group.inputs.version, "1.36");
                assert.equal(group.inputs.capacityType, "ON_DEMAND");
                assert.equal(group.inputs.tags.Tier, "monitoring");
                assert.deepEqual(group.inputs.labels, { "ecommerce/tier": "monitoring" });
            });

            it("boots the nodes from AL2023 with encrypted gp3 root volumes, IMDSv2 only and the Tier=monitoring mark", async () => {
                const run = await loadStack(e.stack);
                const group = child(run, "eks:index:ManagedNodeGroup", "monitoring-nodes");
                const template = child(run, "aws:ec2/launchTemplate:LaunchTemplate", "monitoring-nodes");
                assert.equal(group.inputs.amiType, "AL2023_x86_64_STANDARD");
                assert.deepEqual(group.inputs.launchTemplate, { id: template.id, version: "1" });
                assert.equal(template.inputs.imageId, undefined, "EKS chooses the AMI");
                assert.equal(template.inputs.userData, undefined, "EKS bootstraps the nodes");
                const [root] = template.inputs.blockDeviceMappings;
                assert.deepEqual(root.ebs, { volumeSize: 50, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" });
                assert.equal(template.inputs.metadataOptions.httpTokens, "required");
                const marked = template.inputs.tagSpecifications.map((t: any) => [t.resourceType, t.tags.Tier]);
                assert.deepEqual(marked, [
                    ["instance", "monitoring"],
                    ["volume", "monitoring"],
                    ["network-interface", "monitoring"],
                ]);
            });

            it("gives the node role exactly the EKS worker, CNI and ECR read-only policies", async () => {
                const run = await loadStack(e.stack);
                const role = child(run, "aws:iam/role:Role", "monitoring-node");
                assert.equal(JSON.parse(role.inputs.assumeRolePolicy).Statement[0].Principal.Service, "ec2.amazonaws.com");
                assert.equal(child(run, "eks:index:ManagedNodeGroup", "monitoring-nodes").inputs.nodeRole, role.urn);
                const attached = ofType(run, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").filter(
                    (a) => a.inputs.role === role.outputs.name,
                );
                assert.deepEqual(attached.map((a) => a.inputs.policyArn).sort(), [
                    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
                    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
                    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
                ]);
            });

            it("installs the EBS CSI driver with an AmazonEBSCSIDriverPolicy role through EKS Pod Identity", async () => {
                const run = await loadStack(e.stack);
                const addons = monitoringResources(run).filter((r) => r.type === "aws:eks/addon:Addon");
                assert.deepEqual(addons.map((a) => a.inputs.addonName).sort(), ["aws-ebs-csi-driver", "eks-pod-identity-agent"]);
                const ebs = child(run, "aws:eks/addon:Addon", "monitoring-ebs-csi");
                const agent = child(run, "aws:eks/addon:Addon", "monitoring-pod-identity-agent");
                const role = child(run, "aws:iam/role:Role", "monitoring-ebs-csi");
                assert.equal(ebs.inputs.clusterName, `ecommerce-${e.stack}-monitoring`);
                assert.deepEqual(ebs.inputs.podIdentityAssociations, [
                    { roleArn: role.outputs.arn, serviceAccount: "ebs-csi-controller-sa" },
                ]);
                assert.ok(ebs.dependencies.includes(agent.urn), "the Pod Identity agent is installed first");
                assert.ok(
                    ebs.dependencies.includes(child(run, "eks:index:ManagedNodeGroup", "monitoring-nodes").urn),
                    "nodes exist to run the driver",
                );
                const trust = JSON.parse(role.inputs.assumeRolePolicy).Statement[0];
                assert.deepEqual(trust.Principal, { Service: "pods.eks.amazonaws.com" });
                assert.deepEqual(trust.Action, ["sts:AssumeRole", "sts:TagSession"]);
                const policy = child(run, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "monitoring-ebs-csi");
                assert.equal(policy.inputs.role, role.outputs.name);
                assert.equal(policy.inputs.policyArn, "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy");
            });

            it("makes an encrypted gp3 StorageClass the default: WaitForFirstConsumer, Retain, expandable, volumes tagged Tier=monitoring", async () => {
                const run = await loadStack(e.stack);
                const classes = expectCount(run, "kubernetes:storage.k8s.io/v1:StorageClass", 2);
                const sc = one(run, "kubernetes:storage.k8s.io/v1:StorageClass", "monitoring-gp3");
                assert.equal(sc.inputs.metadata.name, "gp3");
                // The backup's scratch class: the same volumes, deleted with their claim, and never the default.
                const scratch = one(run, "kubernetes:storage.k8s.io/v1:StorageClass", "monitoring-gp3-scratch");
                assert.deepEqual(
                    [
                        scratch.inputs.metadata.name,
                        scratch.inputs.reclaimPolicy,
                        scratch.inputs.metadata.annotations,
                        scratch.inputs.parameters.encrypted,
                    ],
                    ["gp3-scratch", "Delete", undefined, "true"],
                );
                assert.equal(classes.length, 2);
                assert.equal(sc.inputs.metadata.annotations["storageclass.kubernetes.io/is-default-class"], "true");
                assert.equal(sc.inputs.provisioner, "ebs.csi.aws.com");
                assert.equal(sc.inputs.parameters.type, "gp3");
                assert.equal(sc.inputs.parameters.encrypted, "true");
                assert.equal(sc.inputs.volumeBindingMode, "WaitForFirstConsumer");
                assert.equal(sc.inputs.reclaimPolicy, "Retain");
                assert.equal(sc.inputs.allowVolumeExpansion, true);
                assert.ok(
                    Object.entries(sc.inputs.parameters).some(([k, v]) => k.startsWith("tagSpecification_") && v === "Tier=monitoring"),
                );
                assert.ok(sc.dependencies.includes(child(run, "aws:eks/addon:Addon", "monitoring-ebs-csi").urn));
            });

            it("reaches the cluster through a Kubernetes provider built from its kubeconfigJson, in namespace monitoring", async () => {
                const run = await loadStack(e.stack);
                const cluster = child(run, "eks:index:Cluster", "monitoring-eks");
                const provider = child(run, "pulumi:providers:kubernetes", "monitoring-k8s");
                assert.equal(provider.inputs.kubeconfig, cluster.outputs.kubeconfigJson);
                const k8sObjects = monitoringResources(run).filter((r) => r.type.startsWith("kubernetes:"));
                assert.equal(k8sObjects.length, 11, k8sObjects.map((r) => r.name).join(", "));
                for (const r of k8sObjects) {
                    assert.equal(r.provider?.split("::").slice(0, -1).join("::"), provider.urn, `${r.name} uses the cluster's provider`);
                }
                const [ns] = expectCount(run, "kubernetes:core/v1:Namespace", 1);
                assert.equal(ns.inputs.metadata.name, "monitoring");
                for (const r of k8sObjects.filter(
                    (o) => o.type !== "kubernetes:core/v1:Namespace" && o.type !== "kubernetes:storage.k8s.io/v1:StorageClass",
                )) {
                    assert.equal(r.inputs.metadata?.namespace ?? r.inputs.namespace, "monitoring", r.name);
                }
            });

            it("installs kube-prometheus-stack 81.6.2 and prometheus-blackbox-exporter 11.4.1 from prometheus-community", async () => {
                const run = await loadStack(e.stack);
                const releases = expectCount(run, RELEASE, 2);
                assert.deepEqual(releases.map((r) => [r.inputs.chart, r.inputs.version, r.inputs.repositoryOpts.repo]).sort(), [
                    ["kube-prometheus-stack", "81.6.2", "https://prometheus-community.github.io/helm-charts"],
                    ["prometheus-blackbox-exporter", "11.4.1", "https://prometheus-community.github.io/helm-charts"],
                ]);
                const kps = child(run, RELEASE, "monitoring-kube-prometheus-stack");
                for (const dep of [
                    child(run, "eks:index:ManagedNodeGroup", "monitoring-nodes"),
                    child(run, "aws:eks/addon:Addon", "monitoring-ebs-csi"),
                    child(run, "kubernetes:storage.k8s.io/v1:StorageClass", "monitoring-gp3"),
                ]) {
                    assert.ok(kps.dependencies.includes(dep.urn), `kube-prometheus-stack waits for ${dep.name}`);
                }
            });

            it("shows both sites' failover controllers in Grafana: a CloudWatch data source, read only by Pod Identity, and their dashboard", async () => {
                const run = await loadStack(e.stack);
                const v = kpsValues(run);
                assert.deepEqual(v.grafana.additionalDataSources, [
                    {
                        name: "CloudWatch",
                        type: "cloudwatch",
                        uid: "cloudwatch",
                        editable: false,
                        jsonData: { authType: "default", defaultRegion: e.region },
                    },
                ]);
                assert.deepEqual(v.grafana.serviceAccount, { create: true, name: "grafana" });
                assert.deepEqual(v.grafana.sidecar.dashboards, { enabled: true, label: "grafana_dashboard", labelValue: "1" });
                const role = child(run, "aws:iam/role:Role", "monitoring-grafana");
                assert.deepEqual(JSON.parse(role.inputs.assumeRolePolicy).Statement[0].Principal, { Service: "pods.eks.amazonaws.com" });
                assert.deepEqual(
                    JSON.parse(child(run, "aws:iam/rolePolicy:RolePolicy", "monitoring-grafana-cloudwatch").inputs.policy).Statement,
                    [
                        {
                            Sid: "ReadMetrics",
                            Effect: "Allow",
                            Action: ["cloudwatch:GetMetricData", "cloudwatch:ListMetrics"],
                            Resource: "*",
                        },
                    ],
                );
                const association = child(run, "aws:eks/podIdentityAssociation:PodIdentityAssociation", "monitoring-grafana");
                assert.deepEqual(
                    [association.inputs.namespace, association.inputs.serviceAccount, association.inputs.roleArn],
                    ["monitoring", "grafana", role.outputs.arn],
                );
                const kps = child(run, RELEASE, "monitoring-kube-prometheus-stack");
                assert.ok(
                    kps.dependencies.includes(association.urn),
                    "Grafana's pod starts after its association (credentials are injected at creation)",
                );
                const dashboard = child(run, "kubernetes:core/v1:ConfigMap", "monitoring-failover-dashboard");
                assert.equal(dashboard.inputs.metadata.labels.grafana_dashboard, "1");
                const panels: any[] = JSON.parse(dashboard.inputs.data["failover.json"]).panels;
                assert.deepEqual(
                    panels.map((p) => [
                        p.title,
                        p.targets.map(
                            (t: any) =>
                                `${t.namespace} ${t.metricName} ${t.statistic} ControllerRegion=${t.dimensions.ControllerRegion} in ${t.region}`,
                        ),
                    ]),
                    [
                        [
                            "Phase",
                            [
                                "Ecommerce/Failover Phase Maximum ControllerRegion=us-east-2 in us-east-2",
                                "Ecommerce/Failover Phase Maximum ControllerRegion=us-west-1 in us-west-1",
                            ],
                        ],
                        [
                            "Ready",
                            [
                                "Ecommerce/Failover Ready Minimum ControllerRegion=us-east-2 in us-east-2",
                                "Ecommerce/Failover Ready Minimum ControllerRegion=us-west-1 in us-west-1",
                            ],
                        ],
                        [
                            "Held by the RPO guard",
                            [
                                "Ecommerce/Failover Held Maximum ControllerRegion=us-east-2 in us-east-2",
                                "Ecommerce/Failover Held Maximum ControllerRegion=us-west-1 in us-west-1",
                            ],
                        ],
                    ],
                );
                // The phase's numbers are named as the controller numbers them.
                assert.deepEqual(
                    Object.values(panels[0].fieldConfig.defaults.mappings[0].options).map((o: any) => o.text),
                    ["healthy", "suspect", "failing-over", "failed-over", "held"],
                );
                assert.ok(panels.every((p) => p.datasource.uid === "cloudwatch"));
            });

            it("keeps Prometheus 15 days (at most 85GB) on 100Gi, Grafana on 10Gi and Alertmanager on 10Gi gp3 volumes", async () => {
                const v = kpsValues(await loadStack(e.stack));
                const claim = (spec: any) => spec.volumeClaimTemplate.spec;
                assert.equal(v.prometheus.prometheusSpec.retention, "15d");
                assert.equal(v.prometheus.prometheusSpec.retentionSize, "85GB");
                assert.deepEqual(claim(v.prometheus.prometheusSpec.storageSpec).resources.requests, { storage: "100Gi" });
                assert.equal(claim(v.prometheus.prometheusSpec.storageSpec).storageClassName, "gp3");
                assert.deepEqual(claim(v.alertmanager.alertmanagerSpec.storage).resources.requests, { storage: "10Gi" });
                assert.equal(claim(v.alertmanager.alertmanagerSpec.storage).storageClassName, "gp3");
                assert.deepEqual(
                    [v.grafana.persistence.enabled, v.grafana.persistence.size, v.grafana.persistence.storageClassName],
                    [true, "10Gi", "gp3"],
                );
                assert.equal(v.prometheus.prometheusSpec.replicas, 2);
                assert.equal(v.alertmanager.alertmanagerSpec.replicas, 2);
            });

            it("reads the Grafana admin from a Secret holding a generated password", async () => {
                const run = await loadStack(e.stack);
                const password = child(run, "random:index/randomPassword:RandomPassword", "monitoring-grafana-admin");
                const secret = child(run, "kubernetes:core/v1:Secret", "monitoring-grafana-admin");
                assert.equal(secret.inputs.stringData["admin-password"], password.outputs.result);
                assert.ok(secret.secretPaths.includes("stringData"), "stringData is a secret");
                assert.deepEqual(kpsValues(run).grafana.admin, {
                    existingSecret: secret.inputs.metadata.name,
                    userKey: "admin-user",
                    passwordKey: "admin-password",
                });
            });

            it(`configures Alertmanager from a Secret built from the ${e.region} Secrets Manager webhook URL`, async () => {
                const run = await loadStack(e.stack);
                const secret = child(run, "kubernetes:core/v1:Secret", "monitoring-alertmanager-config");
                assert.ok(secret.secretPaths.includes("stringData"), "stringData is a secret");
                const config = parse(secret.inputs.stringData["alertmanager.yaml"]);
                assert.deepEqual(config.receivers.find((r: any) => r.name === config.route.receiver).webhook_configs, [
                    { url: MOCK_WEBHOOK_URL, send_resolved: true },
                ]);
                const spec = kpsValues(run).alertmanager.alertmanagerSpec;
                assert.equal(spec.useExistingSecret, true);
                assert.equal(spec.configSecret, secret.inputs.metadata.name);
                const reads = run.invokes.filter((i) => i.token === "aws:secretsmanager/getSecretVersion:getSecretVersion");
                assert.deepEqual(
                    reads.map((i) => i.args.secretId),
                    ["ecommerce/alertmanager/webhook-url"],
                );
            });

            it("keeps the Grafana password and the webhook URL out of every Helm release, stack output and non-secret input", async () => {
                const run = await loadStack(e.stack);
                const password: string = child(run, "random:index/randomPassword:RandomPassword", "monitoring-grafana-admin").outputs
                    .result;
                assert.ok(password.length >= 20, "the mocked password exists");
                for (const value of [password, MOCK_WEBHOOK_URL]) {
                    for (const release of ofType(run, RELEASE)) {
                        assert.ok(!JSON.stringify(release.inputs).includes(value), `${release.name} carries a secret value`);
                    }
                    assert.ok(!JSON.stringify(run.outputs).includes(value), "a stack output carries a secret value");
                    for (const r of run.resources.filter(
                        (x) => !x.secretPaths.includes("stringData") && x.type !== "random:index/randomPassword:RandomPassword",
                    )) {
                        assert.ok(!JSON.stringify(r.inputs).includes(value), `${r.type} ${r.name} carries a secret value`);
                    }
                }
            });

            it("probes its own region's origin (site and API; the other's load balancer is internal), the public site, the load balancer, every Redis node and the database names", async () => {
                const run = await loadStack(e.stack);
                const alb = expectCount(run, "aws:lb/loadBalancer:LoadBalancer", 1)[0];
                const dataCidrs = ofType(run, "aws:ec2/subnet:Subnet")
                    .filter((s) => s.inputs.tags.SubnetTier === "data")
                    .map((s) => s.inputs.cidrBlock);
                const redis = pinnedNodes(3, dataCidrs).map((n) => `${n.address}:6379`);
                assert.deepEqual(
                    probeEntries(run)
                        .map((p) => p.target)
                        .sort(),
                    [
                        `http://${e.origin}/`,
                        `http://${e.origin}/api/health`,
                        "http://shop.example.com/",
                        // No certificate is configured: every load balancer listens on HTTP only.
                        `http://${alb.outputs.dnsName}/api/health`,
                        ...redis,
                        "writer.db.ecommerce.internal:3306",
                        "reader.db.ecommerce.internal:3306",
                    ].sort(),
                );
            });

            it(`labels every probe with its kind, region and source_region ${e.region}`, async () => {
                const entries = probeEntries(await loadStack(e.stack));
                assert.equal(entries.length, 9);
                for (const p of entries) {
                    assert.equal(p.labels.source_region, e.region, p.target);
                    assert.ok(["site", "api", "redis", "db"].includes(p.labels.kind), p.target);
                    assert.equal(p.job, p.labels.kind === "site" || p.labels.kind === "api" ? "synthetic-http" : "synthetic-tcp", p.target);
                }
                const regionOf = (t: string) => entries.find((p) => p.target === t)!.labels.region;
                assert.equal(regionOf(`http://${e.origin}/api/health`), e.region);
                assert.equal(regionOf("http://shop.example.com/"), "global");
                assert.equal(regionOf("writer.db.ecommerce.internal:3306"), e.region);
                assert.deepEqual(
                    entries.filter((p) => p.labels.kind === "redis").map((p) => p.labels.region),
                    [e.region, e.region, e.region],
                );
            });

            it("installs alert rules that promtool check rules accepts", async () => {
                const groups = kpsValues(await loadStack(e.stack)).additionalPrometheusRulesMap["ecommerce-platform"].groups;
                const promtool = requireTool("promtool", "prometheus");
                const dir = fs.mkdtempSync(path.join(os.tmpdir(), "monitoring-rules-"));
                try {
                    fs.writeFileSync(path.join(dir, "rules.yaml"), stringify({ groups }));
                    const result = spawnSync(promtool, ["check", "rules", "rules.yaml"], { cwd: dir, encoding: "utf8", timeout: 30000 });
                    assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
                    assert.match(result.stdout, /SUCCESS: 15 rules found/);
                } finally {
                    fs.rmSync(dir, { recursive: true, force: true });
                }
            });

            it("exports the cluster name and not the kubeconfig", async () => {
                const run = await loadStack(e.stack);
                assert.equal(run.outputs.monitoringClusterName, `ecommerce-${e.stack}-monitoring`);
                assert.ok(!JSON.stringify(run.outputs).includes("client.authentication.k8s.io"), "no kubeconfig in the outputs");
            });
        });
    }

    it("registers every monitoring resource in a first preview too (unknown IDs and outputs)", async () => {
        const preview = await loadStack("dr", true);
        const applied = await loadStack("dr");
        assert.deepEqual(
            monitoringResources(preview)
                .map((r) => `${r.type} ${r.name}`)
                .sort(),
            monitoringResources(applied)
                .map((r) => `${r.type} ${r.name}`)
                .sort(),
        );
    });

    /** Valid arguments of the component, as index.ts would build them for primary. */
    const BASE: MonitoringStackArgs = {
        region: "us-east-2",
        vpcId: "vpc-0123456789abcdef0",
        privateSubnetIds: ["subnet-0000000000000000a", "subnet-0000000000000000b"],
        eksVersion: "1.34",
        nodeInstanceType: "t3.large",
        nodeCount: 2,
        apiAllowedCidrs: ["198.51.100.0/24"],
        kubePrometheusStackVersion: "81.6.2",
        blackboxExporterVersion: "11.4.1",
        prometheusRetentionDays: 15,
        prometheusStorageGiB: 100,
        grafanaStorageGiB: 10,
        alertmanagerStorageGiB: 10,
        alertReceiverSecretName: "ecommerce/alertmanager/webhook-url",
        probes: {
            siteHostname: "shop.example.com",
            originHostnames: { "us-east-2": "origin-us-east-2.shop.example.com", "us-west-1": "origin-us-west-1.shop.example.com" },
            httpsRegions: [],
            writerRegion: "us-east-2",
            healthCheckPath: "/api/health",
            redisAddresses: ["10.10.64.10", "10.10.80.11"],
            databaseHostnames: { writer: "writer.db.ecommerce.internal", reader: "reader.db.ecommerce.internal" },
        },
        tags: { Project: "ecommerce", Stack: "primary", Tier: "monitoring", ManagedBy: "pulumi" },
    };

    it("grants ecommerce:eksAccessEntries on the stack's cluster, with {account} replaced by the stack's account", async () => {
        const entries = { deploy: { principalArn: "arn:aws:iam::{account}:role/ecommerce-deploy", accessPolicy: "cluster-admin" } };
        const run = requireSuccess(await runProgram({ stack: "dr", config: { "ecommerce:eksAccessEntries": JSON.stringify(entries) } }));
        const [entry] = expectCount(run, "aws:eks/accessEntry:AccessEntry", 1);
        assert.equal(entry.name, "monitoring-access-deploy");
        assert.equal(entry.inputs.principalArn, "arn:aws:iam::123456789012:role/ecommerce-deploy");
        assert.equal(entry.inputs.clusterName, "ecommerce-dr-monitoring");
    });

    describe("as a component with hand-made arguments", () => {
        function runComponent(overrides: Partial<MonitoringStackArgs>): Promise<StackRun> {
            return runProgram({
                stack: "primary",
                program: async () => {
                    const m = new MonitoringStack("mon", { ...BASE, ...overrides });
                    return {
                        clusterName: m.clusterName,
                        nodeSecurityGroupId: m.nodeSecurityGroupId,
                        namespace: m.namespace,
                        grafanaAdminSecretName: m.grafanaAdminSecretName,
                        kubeconfigIsSecret: await pulumi.isSecret(m.kubeconfig),
                    };
                },
            });
        }

        it("creates no access entry by default: only the identity that created the cluster can use it", async () => {
            const run = requireSuccess(await runComponent({}));
            assert.deepEqual(ofType(run, "aws:eks/accessEntry:AccessEntry"), []);
            assert.deepEqual(ofType(run, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"), []);
        });

        it("gives each configured principal an access entry and its access policy, on the cluster or on its namespaces", async () => {
            const run = requireSuccess(
                await runComponent({
                    accessEntries: {
                        deploy: { principalArn: "arn:aws:iam::123456789012:role/ecommerce-deploy", accessPolicy: "cluster-admin" },
                        oncall: { principalArn: "arn:aws:iam::123456789012:role/oncall", accessPolicy: "view", namespaces: ["monitoring"] },
                    },
                }),
            );
            const cluster = one(run, "eks:index:Cluster", "mon-eks");
            const entries = expectCount(run, "aws:eks/accessEntry:AccessEntry", 2);
            assert.deepEqual(
                entries.map((e) => [e.name, e.inputs.clusterName, e.inputs.principalArn, e.inputs.type]),
                [
                    ["mon-access-deploy", cluster.outputs.eksCluster.name, "arn:aws:iam::123456789012:role/ecommerce-deploy", "STANDARD"],
                    ["mon-access-oncall", cluster.outputs.eksCluster.name, "arn:aws:iam::123456789012:role/oncall", "STANDARD"],
                ],
            );
            const associations = expectCount(run, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation", 2);
            assert.deepEqual(
                associations.map((a) => [a.name, a.inputs.principalArn, a.inputs.policyArn, a.inputs.accessScope]),
                [
                    [
                        "mon-access-deploy",
                        "arn:aws:iam::123456789012:role/ecommerce-deploy",
                        "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
                        { type: "cluster" },
                    ],
                    [
                        "mon-access-oncall",
                        "arn:aws:iam::123456789012:role/oncall",
                        "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
                        { type: "namespace", namespaces: ["monitoring"] },
                    ],
                ],
            );
            // Each association waits for its entry (AssociateAccessPolicy needs the entry to exist).
            associations.forEach((a, i) => assert.deepEqual(a.propertyDependencies.principalArn, [entries[i].urn]));
        });

        it("outputs the EKS cluster security group as nodeSecurityGroupId, the namespace, the Grafana Secret and a secret kubeconfig", async () => {
            const run = requireSuccess(await runComponent({}));
            const cluster = one(run, "eks:index:Cluster", "mon-eks");
            assert.equal(run.outputs.nodeSecurityGroupId, cluster.outputs.eksCluster.vpcConfig.clusterSecurityGroupId);
            assert.match(run.outputs.nodeSecurityGroupId, /^sg-/);
            assert.equal(run.outputs.clusterName, "mon");
            assert.equal(run.outputs.namespace, "monitoring");
            assert.equal(run.outputs.grafanaAdminSecretName, "mon-grafana-admin");
            assert.equal(run.outputs.kubeconfigIsSecret, true);
        });

        it("scrapes the application's instances when applicationMetrics is given: EC2 discovery role, Pod Identity, one ingress rule", async () => {
            const run = requireSuccess(
                await runComponent({
                    applicationMetrics: {
                        instanceSecurityGroupId: "sg-0123456789abcdef0",
                        port: 9200,
                        instanceTags: { Tier: "web", Stack: "primary" },
                    },
                }),
            );
            const cluster = one(run, "eks:index:Cluster", "mon-eks");
            const [rule] = expectCount(run, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", 1);
            assert.deepEqual(
                [
                    rule.inputs.securityGroupId,
                    rule.inputs.referencedSecurityGroupId,
                    rule.inputs.fromPort,
                    rule.inputs.toPort,
                    rule.inputs.ipProtocol,
                ],
                ["sg-0123456789abcdef0", cluster.outputs.eksCluster.vpcConfig.clusterSecurityGroupId, 9200, 9200, "tcp"],
            );
            const role = one(run, "aws:iam/role:Role", "mon-prometheus");
            const [association] = expectCount(run, "aws:eks/podIdentityAssociation:PodIdentityAssociation", 1);
            assert.deepEqual(
                [association.inputs.namespace, association.inputs.serviceAccount, association.inputs.roleArn],
                ["monitoring", "prometheus", role.outputs.arn],
            );
            const policy = JSON.parse(one(run, "aws:iam/rolePolicy:RolePolicy", "mon-prometheus-ec2-discovery").inputs.policy);
            assert.deepEqual(policy.Statement[0].Action, ["ec2:DescribeInstances", "ec2:DescribeAvailabilityZones"]);
            const values = one(run, RELEASE, "mon-kube-prometheus-stack").inputs.values;
            assert.equal(values.prometheus.serviceAccount.name, "prometheus");
            const app = values.prometheus.prometheusSpec.additionalScrapeConfigs.find((c: any) => c.job_name === "application");
            assert.equal(app.ec2_sd_configs[0].port, 9200);
            assert.equal(app.ec2_sd_configs[0].region, "us-east-2");
        });

        it("scrapes no application metrics and opens no port by default", async () => {
            const run = requireSuccess(await runComponent({}));
            expectCount(run, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", 0);
            expectCount(run, "aws:eks/podIdentityAssociation:PodIdentityAssociation", 0);
            const values = one(run, RELEASE, "mon-kube-prometheus-stack").inputs.values;
            assert.deepEqual(
                values.prometheus.prometheusSpec.additionalScrapeConfigs.map((c: any) => c.job_name),
                ["synthetic-http", "synthetic-tcp"],
            );
        });

        it("fails before registering anything, not even the component, when an argument is invalid", async () => {
            const run = await runComponent({ nodeCount: 1, apiAllowedCidrs: ["0.0.0.0/0"] });
            assert.deepEqual(run.errors, [
                "MonitoringStack mon: invalid arguments:\n" +
                    "  - nodeCount = 1: expected an integer from 2 to 20\n" +
                    '  - apiAllowedCidrs[0] = "0.0.0.0/0": expected a public IPv4 CIDR narrower than 0.0.0.0/0 (not private, shared, loopback or link-local)',
            ]);
            assert.deepEqual(
                run.resources.filter((r) => r.type !== "pulumi:pulumi:Stack").map((r) => r.type),
                [],
            );
        });
    });

    describe("argument validation", () => {
        // The same valid arguments, probing from us-west-1 (a case below depends on the region).
        const base = (): MonitoringStackArgs => ({ ...BASE, region: "us-west-1", probes: { ...BASE.probes } });

        it("accepts the configured arguments", () => {
            assert.deepEqual(monitoringStackArgsProblems(base()), []);
        });

        const cases: [string, Partial<MonitoringStackArgs>, string][] = [
            ["a single node", { nodeCount: 1 }, "nodeCount = 1: expected an integer from 2 to 20"],
            [
                "a failover controller region that is no region",
                { failoverControllerRegions: ["us-east-2", "us-west"] },
                'failoverControllerRegions[1] = "us-west": expected an AWS region (us-east-1, us-east-2, us-west-1, us-west-2, ...)',
            ],
            [
                "a maximum below the node count",
                { nodeCount: 3, maxNodeCount: 2 },
                "maxNodeCount = 2: expected an integer of at least nodeCount (3)",
            ],
            [
                "a single private subnet",
                { privateSubnetIds: ["subnet-a"] },
                "privateSubnetIds.length = 1: expected at least 2, in different zones (EKS requires two zones)",
            ],
            [
                "an API open to the internet",
                { apiAllowedCidrs: ["203.0.113.0/24", "0.0.0.0/0"] },
                'apiAllowedCidrs[1] = "0.0.0.0/0": expected a public IPv4 CIDR narrower than 0.0.0.0/0 (not private, shared, loopback or link-local)',
            ],
            [
                "no API CIDR at all",
                { apiAllowedCidrs: [] },
                "apiAllowedCidrs.length = 0: expected at least one CIDR (where deploys and operators come from)",
            ],
            [
                "a malformed API CIDR",
                { apiAllowedCidrs: ["203.0.113.1/24"] },
                'apiAllowedCidrs[0] = "203.0.113.1/24": expected a public IPv4 CIDR narrower than 0.0.0.0/0 (not private, shared, loopback or link-local)',
            ],
            [
                "a floating chart version",
                { kubePrometheusStackVersion: "81.x" },
                'kubePrometheusStackVersion = "81.x": expected an exact version x.y.z (no ranges, no latest)',
            ],
            [
                "a Prometheus volume below 10 GiB",
                { prometheusStorageGiB: 5 },
                "prometheusStorageGiB = 5: expected an integer from 10 to 16384 (GiB)",
            ],
            [
                "a retention of zero days",
                { prometheusRetentionDays: 0 },
                "prometheusRetentionDays = 0: expected an integer from 1 to 365 (days)",
            ],
            [
                "an EKS version that is not a minor version",
                { eksVersion: "1.34.2" },
                'eksVersion = "1.34.2": expected a Kubernetes version of the EKS calendar in lib/advisories.ts (1.36, 1.35, 1.34, 1.33, 1.32, 1.31); add a row for a newer one',
            ],
            [
                "a namespace that is not a Kubernetes name",
                { namespace: "Monitoring" },
                'namespace = "Monitoring": expected a Kubernetes name (lowercase letters, digits and hyphens, at most 63)',
            ],
            [
                "a log retention CloudWatch does not offer",
                { controlPlaneLogRetentionDays: 45 },
                "controlPlaneLogRetentionDays = 45: expected a CloudWatch Logs retention (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)",
            ],
            [
                "probes without the probing region's origin",
                { probes: { ...base().probes, originHostnames: { "us-east-2": "origin-us-east-2.shop.example.com" } } },
                "probes: buildProbeTargets: originHostnames has no entry for the probing region us-west-1 (has us-east-2)",
            ],
        ];
        for (const [what, change, message] of cases) {
            it(`rejects ${what}`, () => {
                assert.deepEqual(monitoringStackArgsProblems({ ...base(), ...change }), [message]);
            });
        }
    });
});
