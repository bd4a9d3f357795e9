import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { trafficFor } from "../lib/accelerator";
import type { StackRole } from "../lib/config";
import {
    ACCELERATOR_HEALTH_CHECK_INTERVAL,
    ACCELERATOR_THRESHOLD_COUNT,
    AWS_REGION,
    HEALTH_CHECK_PATH,
    oneOf,
    Problems,
    requireValidArgs,
    STACK_ROLE,
} from "../lib/rules";
import type { Tags } from "../lib/tags";
import { PlatformComponent } from "./platformComponent";

export interface AcceleratorEndpointArgs {
    /** The virtual IP's listener (published by the global stack). */
    readonly listenerArn: pulumi.Input<string>;
    /** This site's region: the endpoint group's region. */
    readonly region: string;
    /** writer: the group serves; standby: it holds no endpoint (lib/accelerator.ts trafficFor). */
    readonly role: StackRole;
    /** The site's internet-facing load balancer. */
    readonly loadBalancerArn: pulumi.Input<string>;
    /** The target group's health path, so both health views ask the same question. */
    readonly healthCheckPath: string;
    /** The load balancer listener's protocol: HTTPS (port 443) when a certificate is configured, else HTTP (80). */
    readonly healthCheckProtocol: "HTTP" | "HTTPS";
    /**
     * 10 or 30 seconds.
     * @default 10
     */
    readonly healthCheckIntervalSeconds?: number;
    /**
     * Consecutive failed checks that make an endpoint unhealthy, 1-10.
     * @default 3
     */
    readonly thresholdCount?: number;
    readonly tags?: Tags;
}

function endpointArgsProblems(args: AcceleratorEndpointArgs): string[] {
    const p = new Problems();
    p.check("region", args.region, AWS_REGION);
    p.check("role", args.role, STACK_ROLE);
    p.check("healthCheckPath", args.healthCheckPath, HEALTH_CHECK_PATH);
    p.check("healthCheckProtocol", args.healthCheckProtocol, oneOf(["HTTP", "HTTPS"]));
    p.checkOptional("healthCheckIntervalSeconds", args.healthCheckIntervalSeconds, ACCELERATOR_HEALTH_CHECK_INTERVAL);
    p.checkOptional("thresholdCount", args.thresholdCount, ACCELERATOR_THRESHOLD_COUNT);
    return p.list;
}

/**
 * This site's endpoint group on the virtual IP's listener. Its traffic follows
 * `writerRegion`: in the writer region the load balancer serves (dial 100, weight 128); in the
 * standby region the group holds no endpoint at all (dial 0), so Global Accelerator cannot
 * send it a request even when it fails over or fails open (lib/accelerator.ts says why).
 * After a failover the controller has made the same change through the API, and `pulumi up`
 * with the flipped `writerRegion` agrees with it.
 *
 * One endpoint group per region per listener (CreateEndpointGroup); only this stack may own
 * it (an update sends the whole endpoint list). The provider sends the calls to us-west-2
 * itself; `endpointGroupRegion` is set explicitly (left out, it would default to the
 * provider's region, and changing it replaces the group).
 */
export class AcceleratorEndpoint extends PlatformComponent<AcceleratorEndpointArgs> {
    public readonly endpointGroupArn: pulumi.Output<string>;
    public readonly trafficDialPercentage: number;
    /** The load balancer's weight; undefined when the group holds no endpoint (standby). */
    public readonly endpointWeight: number | undefined;

    constructor(name: string, args: AcceleratorEndpointArgs, opts?: pulumi.ComponentResourceOptions) {
        requireValidArgs("AcceleratorEndpoint", name, endpointArgsProblems(args));
        super("ecommerce:traffic:AcceleratorEndpoint", name, args, opts);
        const traffic = trafficFor(args.role);
        const group = new aws.globalaccelerator.EndpointGroup(
            `${name}-group`,
            {
                listenerArn: args.listenerArn,
                endpointGroupRegion: args.region,
                trafficDialPercentage: traffic.trafficDialPercentage,
                endpointConfigurations:
                    traffic.endpointWeight === undefined
                        ? []
                        : [
                              {
                                  endpointId: args.loadBalancerArn,
                                  weight: traffic.endpointWeight,
                                  // The load balancer and the app see the client's address. The API
                                  // turns it on for ALBs by default; the provider's schema says
                                  // false: say it. (Global Accelerator then adds a security group
                                  // named GlobalAccelerator to the VPC, which AWS does not delete.)
                                  clientIpPreservationEnabled: true,
                              },
                          ],
                // For ALB endpoints Global Accelerator follows the load balancer's own target
                // health and ignores these (developer guide, "Health check options"); they
                // mirror the target group so an EC2 or EIP endpoint would be checked the same way.
                healthCheckPath: args.healthCheckPath,
                healthCheckProtocol: args.healthCheckProtocol,
                healthCheckPort: args.healthCheckProtocol === "HTTPS" ? 443 : 80,
                healthCheckIntervalSeconds: args.healthCheckIntervalSeconds ?? 10,
                thresholdCount: args.thresholdCount ?? 3,
            },
            { parent: this },
        );
        this.endpointGroupArn = group.arn;
        this.trafficDialPercentage = traffic.trafficDialPercentage;
        this.endpointWeight = traffic.endpointWeight;
        this.registerOutputs({ endpointGroupArn: this.endpointGroupArn });
    }
}
