/**
 * The virtual IP: the global stack's accelerator, listener, published listener ARN and public
 * record, each site's endpoint group, traffic that follows ecommerce:writerRegion in both
 * directions, and Global Accelerator's own routing (offline/awsModel.ts acceleratorRoutes)
 * never reaching a standby site.
 */
import { strict as assert } from "assert";
import { certificatesFor } from "./support/fixtures";
import { listenerArnParameterName, SERVING_WEIGHT } from "../lib/accelerator";
import { acceleratorRoutes, RoutedGroup } from "../offline/awsModel";
import { loadStack, requireSuccess, runProgram, StackRun } from "../offline/run";

const one = (run: StackRun, type: string) => {
    const found = run.resources.filter((r) => r.type === type);
    assert.equal(found.length, 1, `${run.stack}: exactly one ${type}`);
    return found[0];
};
const GROUP = "aws:globalaccelerator/endpointGroup:EndpointGroup";

const flipped = new Map<string, Promise<StackRun>>();
function withWriter(stack: string, writerRegion: string): Promise<StackRun> {
    if (writerRegion === "us-east-2") {
        return loadStack(stack);
    }
    if (!flipped.has(stack)) {
        flipped.set(stack, runProgram({ stack, config: { "ecommerce:writerRegion": writerRegion } }).then(requireSuccess));
    }
    return flipped.get(stack)!;
}

/** What Global Accelerator holds for a site: the group's dial and its endpoints with weights. */
function groupState(run: StackRun): RoutedGroup {
    const group = one(run, GROUP);
    const alb = one(run, "aws:lb/loadBalancer:LoadBalancer");
    return {
        region: group.inputs.endpointGroupRegion,
        trafficDialPercentage: group.inputs.trafficDialPercentage,
        endpoints: (group.inputs.endpointConfigurations ?? []).map((e: any) => ({
            // the endpoint refers to the load balancer (its URN under the mocks' resource references)
            id: e.endpointId === alb.urn || e.endpointId === alb.outputs.arn ? `${run.stack}-alb` : String(e.endpointId),
            weight: e.weight,
        })),
    };
}

describe("the virtual IP (Global Accelerator)", () => {
    describe("global stack", () => {
        it("holds one IPv4 accelerator, protected (its two static IPs must never change)", async () => {
            const run = await loadStack("global");
            const accelerator = one(run, "aws:globalaccelerator/accelerator:Accelerator");
            assert.equal(accelerator.inputs.name, "ecommerce-accelerator");
            assert.equal(accelerator.inputs.ipAddressType, "IPV4");
            assert.equal(accelerator.inputs.enabled, true);
            assert.equal(accelerator.protect, true);
            assert.equal(accelerator.inputs.tags.Tier, "traffic");
        });

        it("listens on TCP 80 and 443 with the configured client affinity", async () => {
            const listener = one(await loadStack("global"), "aws:globalaccelerator/listener:Listener");
            assert.equal(listener.inputs.protocol, "TCP");
            assert.equal(listener.inputs.clientAffinity, "NONE");
            assert.deepEqual(listener.inputs.portRanges, [
                { fromPort: 80, toPort: 80 },
                { fromPort: 443, toPort: 443 },
            ]);
        });

        it("publishes the listener's ARN in its own region for the site stacks, and outputs the static IPs, the DNS name and the listener", async () => {
            const run = await loadStack("global");
            const listener = one(run, "aws:globalaccelerator/listener:Listener");
            const parameter = one(run, "aws:ssm/parameter:Parameter");
            assert.equal(parameter.inputs.name, listenerArnParameterName("ecommerce"));
            assert.equal(parameter.inputs.type, "String");
            assert.equal(parameter.inputs.value, listener.outputs.arn);
            assert.deepEqual(parameter.propertyDependencies.value, [listener.urn]);
            assert.equal(run.config["aws:region"], "us-west-2");
            assert.equal(run.outputs.listenerArn, listener.outputs.arn);
            assert.equal(run.outputs.staticIps.length, 2);
            assert.ok(run.outputs.staticIps.every((ip: string) => /^\d+\.\d+\.\d+\.\d+$/.test(ip)));
            assert.match(run.outputs.acceleratorDnsName, /^a[0-9a-f]{16}\.awsglobalaccelerator\.com$/);
        });

        it("without a hosted zone creates no record and says what to point where", async () => {
            const run = await loadStack("global");
            assert.equal(run.resources.filter((r) => r.type === "aws:route53/record:Record").length, 0);
            assert.match(
                run.outputs.publicRecord,
                /^not created \(ecommerce:publicZoneId is empty\): point shop\.example\.com at the accelerator yourself/,
            );
        });

        it("with a hosted zone, aliases the shop's name to the accelerator", async () => {
            const run = requireSuccess(
                await runProgram({ stack: "global", config: { "ecommerce:publicZoneId": "Z0123456789ABCDEFGHIJ" } }),
            );
            const record = one(run, "aws:route53/record:Record");
            const accelerator = one(run, "aws:globalaccelerator/accelerator:Accelerator");
            assert.equal(record.inputs.zoneId, "Z0123456789ABCDEFGHIJ");
            assert.equal(record.inputs.name, "shop.example.com");
            assert.equal(record.inputs.type, "A");
            assert.deepEqual(record.inputs.aliases, [
                { name: accelerator.outputs.dnsName, zoneId: "Z2BJ6XQ5FK7U4H", evaluateTargetHealth: false },
            ]);
            assert.equal(run.outputs.publicRecord, "shop.example.com");
        });

        it("rejects a hosted zone ID that is not one, naming the key", async () => {
            const run = await runProgram({ stack: "global", config: { "ecommerce:publicZoneId": "shop.example.com" } });
            assert.match(run.errors.join("\n"), /ecommerce:publicZoneId = "shop\.example\.com": expected a Route 53 hosted zone ID/);
            assert.equal(run.resources.filter((r) => r.type.startsWith("aws:")).length, 0, "nothing is created");
        });
    });

    describe("site stacks", () => {
        for (const stack of ["primary", "dr"]) {
            it(`${stack} attaches one endpoint group, in its own region, to the listener the global stack published (read in us-west-2)`, async () => {
                const [site, global] = await Promise.all([loadStack(stack), loadStack("global")]);
                const group = one(site, GROUP);
                assert.equal(group.inputs.listenerArn, global.outputs.listenerArn);
                assert.equal(group.inputs.endpointGroupRegion, site.config["aws:region"]);
                const lookups = site.invokes.filter(
                    (i) => i.token === "aws:ssm/getParameter:getParameter" && i.args.name === listenerArnParameterName("ecommerce"),
                );
                assert.deepEqual(
                    lookups.map((i) => i.args.region),
                    ["us-west-2"],
                );
                assert.equal(site.outputs.endpointGroupArn, group.outputs.arn);
            });

            it(`${stack}'s group checks health on the target group's path and protocol, with the configured thresholds`, async () => {
                const group = one(await loadStack(stack), GROUP);
                const targetGroup = one(await loadStack(stack), "aws:lb/targetGroup:TargetGroup");
                assert.equal(group.inputs.healthCheckPath, targetGroup.inputs.healthCheck.path);
                assert.equal(group.inputs.healthCheckProtocol, "HTTP");
                assert.equal(group.inputs.healthCheckPort, 80);
                assert.equal(group.inputs.healthCheckIntervalSeconds, 10);
                assert.equal(group.inputs.thresholdCount, 3);
            });
        }

        it("the writer's group serves its load balancer at weight 128 with client IP preservation; the standby's holds no endpoint and dial 0", async () => {
            const [primary, dr] = await Promise.all([loadStack("primary"), loadStack("dr")]);
            const serving = one(primary, GROUP).inputs;
            assert.equal(serving.trafficDialPercentage, 100);
            assert.deepEqual(serving.endpointConfigurations, [
                {
                    endpointId: one(primary, "aws:lb/loadBalancer:LoadBalancer").outputs.arn,
                    weight: SERVING_WEIGHT,
                    clientIpPreservationEnabled: true,
                },
            ]);
            const standby = one(dr, GROUP).inputs;
            assert.equal(standby.trafficDialPercentage, 0);
            assert.deepEqual(standby.endpointConfigurations, []);
        });
    });

    describe("settings", () => {
        it("checks health over HTTPS on 443 when the site has a certificate", async () => {
            const run = requireSuccess(await runProgram({ stack: "primary", config: certificatesFor("us-east-2") }));
            const group = one(run, GROUP);
            assert.equal(group.inputs.healthCheckProtocol, "HTTPS");
            assert.equal(group.inputs.healthCheckPort, 443);
        });

        it("passes the client affinity and the health thresholds from config", async () => {
            const [global, site] = await Promise.all([
                runProgram({ stack: "global", config: { "ecommerce:acceleratorClientAffinity": "SOURCE_IP" } }).then(requireSuccess),
                runProgram({
                    stack: "dr",
                    config: { "ecommerce:acceleratorHealthCheckIntervalSeconds": "30", "ecommerce:acceleratorThresholdCount": "5" },
                }).then(requireSuccess),
            ]);
            assert.equal(one(global, "aws:globalaccelerator/listener:Listener").inputs.clientAffinity, "SOURCE_IP");
            assert.equal(one(site, GROUP).inputs.healthCheckIntervalSeconds, 30);
            assert.equal(one(site, GROUP).inputs.thresholdCount, 5);
        });

        const rejected: [string, Record<string, string>, RegExp][] = [
            [
                "an interval the API does not take",
                { "ecommerce:acceleratorHealthCheckIntervalSeconds": "20" },
                /ecommerce:acceleratorHealthCheckIntervalSeconds = 20: expected one of 10, 30/,
            ],
            [
                "a threshold above 10",
                { "ecommerce:acceleratorThresholdCount": "11" },
                /ecommerce:acceleratorThresholdCount = 11: expected an integer from 1 to 10/,
            ],
            [
                "an unknown affinity",
                { "ecommerce:acceleratorClientAffinity": "STICKY" },
                /ecommerce:acceleratorClientAffinity = "STICKY": expected one of NONE, SOURCE_IP/,
            ],
            [
                "a site in the global region",
                { "ecommerce:drRegion": "us-west-2" },
                /ecommerce:drRegion = "us-west-2": expected a region other than us-west-2/,
            ],
        ];
        for (const [what, config, message] of rejected) {
            it(`rejects ${what}, naming the key, before anything is created`, async () => {
                const run = await runProgram({ stack: "primary", config });
                assert.match(run.errors.join("\n"), message);
                assert.equal(run.resources.filter((r) => r.type.startsWith("aws:")).length, 0);
            });
        }
    });

    describe("traffic follows ecommerce:writerRegion", () => {
        for (const writerRegion of ["us-east-2", "us-west-1"]) {
            it(`with the writer in ${writerRegion}, only that site's group serves`, async () => {
                for (const stack of ["primary", "dr"]) {
                    const run = await withWriter(stack, writerRegion);
                    const state = groupState(run);
                    const writes = run.config["aws:region"] === writerRegion;
                    assert.equal(state.trafficDialPercentage, writes ? 100 : 0, stack);
                    assert.deepEqual(state.endpoints, writes ? [{ id: `${stack}-alb`, weight: SERVING_WEIGHT }] : [], stack);
                }
            });
        }

        it("after the controller moved traffic to dr and the operator set writerRegion to us-west-1, pulumi up on either stack moves nothing back", async () => {
            // What the controller (or the README's runbook, by hand) leaves behind: dr's load balancer
            // added to dr's group at weight 128 and dial 100; primary's removed and its dial at 0.
            const controller = {
                dr: { region: "us-west-1", trafficDialPercentage: 100, endpoints: [{ id: "dr-alb", weight: 128 }] },
                primary: { region: "us-east-2", trafficDialPercentage: 0, endpoints: [] },
            };
            for (const stack of ["primary", "dr"] as const) {
                const desired = groupState(await withWriter(stack, "us-west-1"));
                const actual = controller[stack];
                assert.deepEqual(
                    { region: desired.region, trafficDialPercentage: desired.trafficDialPercentage, endpoints: desired.endpoints },
                    { region: actual.region, trafficDialPercentage: actual.trafficDialPercentage, endpoints: actual.endpoints },
                    stack,
                );
            }
        });
    });

    describe("Global Accelerator's own routing never reaches the standby", () => {
        const HEALTH = [["primary-alb", "dr-alb"], ["dr-alb"], ["primary-alb"], []];
        const NEAREST = [
            ["us-east-2", "us-west-1"],
            ["us-west-1", "us-east-2"],
        ];

        for (const writerRegion of ["us-east-2", "us-west-1"]) {
            it(`with the writer in ${writerRegion}: for every health of the two sites and every client, no request reaches the standby's load balancer`, async () => {
                const groups = [groupState(await withWriter("primary", writerRegion)), groupState(await withWriter("dr", writerRegion))];
                const standbyAlb = writerRegion === "us-east-2" ? "dr-alb" : "primary-alb";
                for (const healthy of HEALTH) {
                    for (const nearest of NEAREST) {
                        const reached = acceleratorRoutes(groups, new Set(healthy), nearest);
                        assert.ok(
                            !reached.has(standbyAlb),
                            `healthy ${healthy.join(",") || "none"}, nearest ${nearest[0]}: ${[...reached].join(",")}`,
                        );
                    }
                }
            });
        }

        it("sends every client to the writer's load balancer while it is healthy", async () => {
            for (const writerRegion of ["us-east-2", "us-west-1"]) {
                const groups = [groupState(await withWriter("primary", writerRegion)), groupState(await withWriter("dr", writerRegion))];
                const writerAlb = writerRegion === "us-east-2" ? "primary-alb" : "dr-alb";
                for (const nearest of NEAREST) {
                    assert.deepEqual([...acceleratorRoutes(groups, new Set(["primary-alb", "dr-alb"]), nearest)], [writerAlb]);
                }
            }
        });

        it("between the controller's fence and its move, reaches neither site (no request lands on a writer being fenced or a standby not yet serving)", () => {
            const fenced: RoutedGroup[] = [
                { region: "us-east-2", trafficDialPercentage: 0, endpoints: [] },
                { region: "us-west-1", trafficDialPercentage: 0, endpoints: [] },
            ];
            for (const nearest of NEAREST) {
                assert.deepEqual([...acceleratorRoutes(fenced, new Set(["primary-alb", "dr-alb"]), nearest)], []);
            }
        });

        it("whereas a standby at weight 0 and dial 0 would get requests when the writer's site is down (Global Accelerator fails open)", () => {
            const groups: RoutedGroup[] = [
                { region: "us-east-2", trafficDialPercentage: 100, endpoints: [{ id: "primary-alb", weight: 128 }] },
                { region: "us-west-1", trafficDialPercentage: 0, endpoints: [{ id: "dr-alb", weight: 0 }] },
            ];
            assert.deepEqual(
                [...acceleratorRoutes(groups, new Set(["primary-alb", "dr-alb"]), ["us-west-1", "us-east-2"])],
                ["primary-alb"],
            );
            assert.deepEqual([...acceleratorRoutes(groups, new Set(["dr-alb"]), ["us-west-1", "us-east-2"])], ["dr-alb"]);
        });

        it("and a dial of 0 alone does not fence a weighted endpoint: failover ignores dials", () => {
            const groups: RoutedGroup[] = [
                { region: "us-east-2", trafficDialPercentage: 100, endpoints: [{ id: "primary-alb", weight: 128 }] },
                { region: "us-west-1", trafficDialPercentage: 0, endpoints: [{ id: "dr-alb", weight: 128 }] },
            ];
            assert.deepEqual([...acceleratorRoutes(groups, new Set(["dr-alb"]), ["us-east-2", "us-west-1"])], ["dr-alb"]);
        });
    });
});
