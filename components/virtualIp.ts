import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { LISTENER_PORTS, listenerArnParameterName } from "../lib/accelerator";
import { ACCELERATOR_CLIENT_AFFINITY, HOSTED_ZONE_ID_OR_EMPTY, HOSTNAME, Problems, PROJECT_NAME, requireValidArgs } from "../lib/rules";
import type { Tags } from "../lib/tags";
import { PlatformComponent } from "./platformComponent";

export interface VirtualIpArgs {
    /** Prefix of names (`<project>-accelerator`) and of the SSM parameter that publishes the listener. */
    readonly project: string;
    /** The shop's public name, pointed at the accelerator. */
    readonly siteHostname: string;
    /**
     * Route 53 hosted zone holding `siteHostname`. Empty: no record is created; point a CNAME at
     * `dnsName` (or A records at `staticIps`) where the zone lives.
     * @default ""
     */
    readonly publicZoneId?: string;
    /**
     * NONE hashes each connection on its 5-tuple; SOURCE_IP keeps a client on one endpoint.
     * @default "NONE"
     */
    readonly clientAffinity?: "NONE" | "SOURCE_IP";
    readonly tags?: Tags;
}

function virtualIpArgsProblems(args: VirtualIpArgs): string[] {
    const p = new Problems();
    p.check("project", args.project, PROJECT_NAME);
    p.check("siteHostname", args.siteHostname, HOSTNAME);
    p.checkOptional("publicZoneId", args.publicZoneId, HOSTED_ZONE_ID_OR_EMPTY);
    p.checkOptional("clientAffinity", args.clientAffinity, ACCELERATOR_CLIENT_AFFINITY);
    return p.list;
}

/**
 * The virtual IP (the seed's "CNAME -> virtual IP"): one Global Accelerator with two static
 * anycast IPv4 addresses that never change, one TCP listener for 80 and 443, the public name
 * on it, and the listener's ARN published for the site stacks, whose endpoint groups attach
 * to it (components/acceleratorEndpoint.ts). Moving traffic is an API call on those endpoint
 * groups: no DNS record changes in the recovery path.
 *
 * Global Accelerator's API lives in us-west-2 only; the provider sends every call there, so
 * this component needs no provider of its own. AWS refuses to delete a listener that still has
 * endpoint groups: destroy the site stacks' groups first.
 */
export class VirtualIp extends PlatformComponent<VirtualIpArgs> {
    public readonly acceleratorArn: pulumi.Output<string>;
    public readonly listenerArn: pulumi.Output<string>;
    /** The two static anycast IPv4 addresses. */
    public readonly staticIps: pulumi.Output<string[]>;
    /** `a0123456789abcdef.awsglobalaccelerator.com`. */
    public readonly dnsName: pulumi.Output<string>;
    /** The alias hosted zone of the accelerator's DNS name. */
    public readonly hostedZoneId: pulumi.Output<string>;
    /** The public record's FQDN, or undefined when no zone is configured. */
    public readonly publicRecordFqdn: pulumi.Output<string> | undefined;
    /** The SSM parameter (in this stack's region) holding the listener ARN. */
    public readonly listenerArnParameterName: string;

    constructor(name: string, args: VirtualIpArgs, opts?: pulumi.ComponentResourceOptions) {
        requireValidArgs("VirtualIp", name, virtualIpArgsProblems(args));
        super("ecommerce:traffic:VirtualIp", name, args, opts);
        const accelerator = this.createAccelerator();
        const listener = this.createListener(accelerator);
        const record = this.createPublicRecord(accelerator);
        this.listenerArnParameterName = listenerArnParameterName(args.project);
        this.publishListener(listener);

        this.acceleratorArn = accelerator.arn;
        this.listenerArn = listener.arn;
        this.staticIps = accelerator.ipSets.apply((sets) => sets.flatMap((s) => s.ipAddresses ?? []));
        this.dnsName = accelerator.dnsName;
        this.hostedZoneId = accelerator.hostedZoneId;
        this.publicRecordFqdn = record?.fqdn;
        this.registerOutputs({
            acceleratorArn: this.acceleratorArn,
            listenerArn: this.listenerArn,
            staticIps: this.staticIps,
            dnsName: this.dnsName,
            publicRecordFqdn: this.publicRecordFqdn,
        });
    }

    private createAccelerator(): aws.globalaccelerator.Accelerator {
        // IPV4: the load balancers are IPv4; a dual-stack accelerator takes only dual-stack
        // endpoints (Global Accelerator developer guide, "Endpoints for dual-stack accelerators").
        // Deleting it disables it first and waits up to 30 minutes (the provider does both).
        return new aws.globalaccelerator.Accelerator(
            `${this.name}-accelerator`,
            {
                name: `${this.args.project}-accelerator`,
                ipAddressType: "IPV4",
                enabled: true,
                tags: this.tagged(`${this.name}-accelerator`),
            },
            // The two static IPs are what the public name and any allow-list point at: a
            // replacement would change them. Protect it like data.
            { parent: this, protect: true },
        );
    }

    private createListener(accelerator: aws.globalaccelerator.Accelerator): aws.globalaccelerator.Listener {
        // One TCP listener carries both ports (up to 10 port ranges per listener). TCP, not
        // UDP: client IP preservation on ALB endpoints works for TCP listeners. Protected: a
        // replacement cannot be created beside it (overlapping ports) and the old one cannot be
        // deleted while the sites' endpoint groups hang on it.
        return new aws.globalaccelerator.Listener(
            `${this.name}-listener`,
            {
                acceleratorArn: accelerator.arn,
                protocol: "TCP",
                clientAffinity: this.args.clientAffinity ?? "NONE",
                portRanges: LISTENER_PORTS.map((port) => ({ fromPort: port, toPort: port })),
            },
            { parent: this, protect: true },
        );
    }

    private createPublicRecord(accelerator: aws.globalaccelerator.Accelerator): aws.route53.Record | undefined {
        const zoneId = this.args.publicZoneId ?? "";
        if (zoneId === "") {
            return undefined;
        }
        // An alias A record: answered by Route 53 with the accelerator's two static IPs, free
        // of charge, no TTL of ours. No target-health evaluation: the accelerator's IPs always
        // answer, and which site serves is the accelerator's business. Protected: the shop's
        // name. If the name already exists (the seed's CNAME), Route 53 refuses to create it:
        // delete the old record in the same change window, or `pulumi import` it first.
        return new aws.route53.Record(
            `${this.name}-site-record`,
            {
                zoneId,
                name: this.args.siteHostname,
                type: "A",
                aliases: [{ name: accelerator.dnsName, zoneId: accelerator.hostedZoneId, evaluateTargetHealth: false }],
            },
            { parent: this, protect: true },
        );
    }

    private publishListener(listener: aws.globalaccelerator.Listener): aws.ssm.Parameter {
        return new aws.ssm.Parameter(
            `${this.name}-listener-arn`,
            {
                name: this.listenerArnParameterName,
                type: "String",
                value: listener.arn,
                description: "The virtual IP's listener: each site stack attaches its endpoint group to it (written by the global stack).",
                tags: this.tagged(`${this.name}-listener-arn`),
            },
            // Protected: every site deploy reads it (without it: ParameterNotFound).
            { parent: this, protect: true },
        );
    }
}
