/**
 * Traffic through Global Accelerator (its API answers only in us-west-2). Each site's endpoint
 * group either serves (its load balancer at weight 128, dial 100) or holds no endpoint (dial
 * 0): lib/accelerator.ts says why a fenced site holds no endpoint rather than one at weight 0,
 * and `trafficFor` is the one home of both shapes, shared with the Pulumi program so that
 * `pulumi up` after the writerRegion flip agrees with what this adapter did. Every step reads
 * before it writes: repeated, it changes nothing.
 */
import {
    AddEndpointsCommand,
    DescribeEndpointGroupCommand,
    type EndpointGroup,
    GlobalAcceleratorClient,
    ListEndpointGroupsCommand,
    RemoveEndpointsCommand,
    UpdateEndpointGroupCommand,
    type UpdateEndpointGroupCommandInput,
} from "@aws-sdk/client-global-accelerator";
import { SERVING_WEIGHT, trafficFor } from "../../../lib/accelerator";
import type { ActionContext, ActionResult, ReadinessCheck, TrafficAdapter } from "../../core/ports";
import { call } from "./calls";

/** A site as the virtual IP knows it. */
export interface SiteEndpoint {
    readonly endpointGroupArn: string;
    /** The site's load balancer: needed for the site traffic moves to (the controller's own). */
    readonly loadBalancerArn?: string;
}

/**
 * Both sites' endpoint groups, found on the listener by region (ListEndpointGroups): a
 * controller knows its own load balancer and learns the other site's group at run time, so
 * neither stack needs the other's IDs.
 */
export async function discoverSites(
    client: GlobalAcceleratorClient,
    listenerArn: string,
    own: { readonly region: string; readonly loadBalancerArn: string },
): Promise<Record<string, SiteEndpoint>> {
    const sites: Record<string, SiteEndpoint> = {};
    let token: string | undefined;
    do {
        const page = await call("globalaccelerator:ListEndpointGroups", listenerArn, () =>
            client.send(new ListEndpointGroupsCommand({ ListenerArn: listenerArn, NextToken: token })),
        );
        for (const group of page.EndpointGroups ?? []) {
            if (group.EndpointGroupRegion !== undefined && group.EndpointGroupArn !== undefined) {
                const loadBalancer = group.EndpointGroupRegion === own.region ? { loadBalancerArn: own.loadBalancerArn } : {};
                sites[group.EndpointGroupRegion] = { endpointGroupArn: group.EndpointGroupArn, ...loadBalancer };
            }
        }
        token = page.NextToken;
    } while (token !== undefined);
    return sites;
}

/** Both sites by region, or how to find them when first needed. */
export type Sites = Readonly<Record<string, SiteEndpoint>> | (() => Promise<Readonly<Record<string, SiteEndpoint>>>);

export class GlobalAcceleratorTraffic implements TrafficAdapter {
    constructor(
        private readonly client: GlobalAcceleratorClient,
        /** Both sites, by region. */
        private readonly sites: Sites,
        /** The regions whose groups a failover needs (its own and the writer's). */
        private readonly required: readonly string[] = [],
    ) {}

    private async allSites(): Promise<Readonly<Record<string, SiteEndpoint>>> {
        return typeof this.sites === "function" ? this.sites() : this.sites;
    }

    private async site(region: string): Promise<SiteEndpoint> {
        const sites = await this.allSites();
        const site = sites[region];
        if (site === undefined) {
            throw new Error(`no endpoint group known for ${region} (known: ${Object.keys(sites).join(", ")})`);
        }
        return site;
    }

    private async describe(site: SiteEndpoint, signal: AbortSignal): Promise<EndpointGroup> {
        const out = await call("globalaccelerator:DescribeEndpointGroup", site.endpointGroupArn, () =>
            this.client.send(new DescribeEndpointGroupCommand({ EndpointGroupArn: site.endpointGroupArn }), { abortSignal: signal }),
        );
        return out.EndpointGroup ?? {};
    }

    private update(site: SiteEndpoint, input: Omit<UpdateEndpointGroupCommandInput, "EndpointGroupArn">, signal: AbortSignal) {
        // Fields left out keep their values (UpdateEndpointGroup changes what it is given).
        return call("globalaccelerator:UpdateEndpointGroup", site.endpointGroupArn, () =>
            this.client.send(new UpdateEndpointGroupCommand({ EndpointGroupArn: site.endpointGroupArn, ...input }), {
                abortSignal: signal,
            }),
        );
    }

    async fence(region: string, context: ActionContext): Promise<ActionResult> {
        const site = await this.site(region);
        const group = await this.describe(site, context.signal);
        const done: string[] = [];
        // Every endpoint goes: a fenced group holds none, not even one at weight 0.
        const present = (group.EndpointDescriptions ?? []).map((e) => e.EndpointId).filter((id): id is string => id !== undefined);
        if (present.length > 0) {
            await call("globalaccelerator:RemoveEndpoints", site.endpointGroupArn, () =>
                this.client.send(
                    new RemoveEndpointsCommand({
                        EndpointGroupArn: site.endpointGroupArn,
                        EndpointIdentifiers: present.map((id) => ({ EndpointId: id })),
                    }),
                    { abortSignal: context.signal },
                ),
            );
            done.push(`removed ${present.length} endpoint(s) from ${region}'s endpoint group`);
        }
        const fenced = trafficFor("standby").trafficDialPercentage;
        if ((group.TrafficDialPercentage ?? 100) !== fenced) {
            await this.update(site, { TrafficDialPercentage: fenced }, context.signal);
            done.push(`traffic dial ${group.TrafficDialPercentage ?? 100} -> ${fenced}`);
        }
        return { detail: done.length > 0 ? done.join("; ") : `${region} was already fenced (no endpoint, dial ${fenced})` };
    }

    async moveTo(to: string, _from: string, context: ActionContext): Promise<ActionResult> {
        const site = await this.site(to);
        const loadBalancerArn = site.loadBalancerArn;
        if (loadBalancerArn === undefined) {
            throw new Error(`no load balancer known for ${to}: traffic moves only to the controller's own site`);
        }
        const group = await this.describe(site, context.signal);
        const serving = trafficFor("writer");
        const configuration = { EndpointId: loadBalancerArn, Weight: SERVING_WEIGHT, ClientIPPreservationEnabled: true };
        const done: string[] = [];
        const endpoint = (group.EndpointDescriptions ?? []).find((e) => e.EndpointId === loadBalancerArn);
        if (endpoint === undefined) {
            await call("globalaccelerator:AddEndpoints", site.endpointGroupArn, () =>
                this.client.send(
                    new AddEndpointsCommand({ EndpointGroupArn: site.endpointGroupArn, EndpointConfigurations: [configuration] }),
                    {
                        abortSignal: context.signal,
                    },
                ),
            );
            done.push(`added ${to}'s load balancer at weight ${SERVING_WEIGHT}`);
        } else if (endpoint.Weight !== serving.endpointWeight || endpoint.ClientIPPreservationEnabled !== true) {
            await this.update(site, { EndpointConfigurations: [configuration] }, context.signal);
            done.push(`weight ${String(endpoint.Weight)} -> ${SERVING_WEIGHT}`);
        }
        if ((group.TrafficDialPercentage ?? 100) !== serving.trafficDialPercentage) {
            await this.update(site, { TrafficDialPercentage: serving.trafficDialPercentage }, context.signal);
            done.push(`traffic dial ${group.TrafficDialPercentage ?? 100} -> ${serving.trafficDialPercentage}`);
        }
        return {
            detail:
                done.length > 0
                    ? done.join("; ")
                    : `${to} already served (weight ${SERVING_WEIGHT}, dial ${serving.trafficDialPercentage})`,
        };
    }

    async readiness(): Promise<ReadinessCheck[]> {
        let sites: Readonly<Record<string, SiteEndpoint>>;
        try {
            sites = await this.allSites();
        } catch (err) {
            return [{ name: "endpoint groups", ok: false, detail: (err as Error).message }];
        }
        const missing: ReadinessCheck[] = this.required
            .filter((region) => sites[region] === undefined)
            .map((region) => ({
                name: `endpoint group ${region}`,
                ok: false,
                detail: `no endpoint group for ${region} on the virtual IP's listener`,
            }));
        return [
            ...missing,
            ...(await Promise.all(
                Object.entries(sites).map(async ([region, site]): Promise<ReadinessCheck> => {
                    try {
                        const group = await this.describe(site, AbortSignal.timeout(15_000));
                        return {
                            name: `endpoint group ${region}`,
                            ok: true,
                            detail: `${site.endpointGroupArn}: dial ${group.TrafficDialPercentage}, ${(group.EndpointDescriptions ?? []).length} endpoint(s)`,
                        };
                    } catch (err) {
                        return { name: `endpoint group ${region}`, ok: false, detail: (err as Error).message };
                    }
                }),
            )),
        ];
    }
}
