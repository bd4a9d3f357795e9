/**
 * A vantage point that is not ours: Global Accelerator's own health view of the writer site's
 * endpoint (it follows the load balancer's target health from AWS's edge). The writer's group
 * is healthy when one of its endpoints is HEALTHY; a group with no endpoint, or endpoints
 * only UNHEALTHY or still INITIAL, is a failed probe. A call that fails abstains.
 */
import { DescribeEndpointGroupCommand, GlobalAcceleratorClient } from "@aws-sdk/client-global-accelerator";
import type { Probe, ProbeResult } from "./http";

export class AcceleratorHealthProbe implements Probe {
    readonly target: string;

    constructor(
        readonly name: string,
        private readonly client: GlobalAcceleratorClient,
        private readonly endpointGroupArn: () => Promise<string>,
        region: string,
    ) {
        this.target = `globalaccelerator endpoint health of ${region}`;
    }

    async check(timeoutMs: number): Promise<ProbeResult> {
        const started = performance.now();
        const base = () => ({ name: this.name, target: this.target, latencyMs: Math.round(performance.now() - started) });
        try {
            const arn = await this.endpointGroupArn();
            const out = await this.client.send(new DescribeEndpointGroupCommand({ EndpointGroupArn: arn }), {
                abortSignal: AbortSignal.timeout(timeoutMs),
            });
            const states = (out.EndpointGroup?.EndpointDescriptions ?? []).map((e) => e.HealthState ?? "UNKNOWN");
            if (states.includes("HEALTHY")) {
                return { ...base(), ok: true };
            }
            return {
                ...base(),
                ok: false,
                reason: "status",
                error: states.length === 0 ? "no endpoint in the group" : `endpoint health ${states.join(", ")}`,
            };
        } catch (err) {
            // An API error (us-west-2's control plane, throttling, a timeout) says nothing about
            // the writer: this vantage point abstains, it never counts as "down".
            const e = err as Error;
            return {
                ...base(),
                ok: false,
                abstained: true,
                reason: e.name === "TimeoutError" || e.name === "AbortError" ? "timeout" : "error",
                error: `${e.name}: ${e.message}`,
            };
        }
    }
}
