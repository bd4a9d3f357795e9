/**
 * The virtual IP: what the global stack and the site stacks share about the accelerator, in
 * one place. The global stack owns the accelerator, its listener and the public record; each
 * site stack owns its endpoint group on that listener (its own load balancer).
 */
import type { StackRole } from "./config";

/** The listener's ports: the load balancer's HTTP and HTTPS listeners (one TCP listener, two port ranges). */
export const LISTENER_PORTS: readonly number[] = [80, 443];

/**
 * Global Accelerator's hosted zone for Route 53 alias records, the same for every accelerator
 * (AWS General Reference, Global Accelerator endpoints; the provider's `hostedZoneId` output).
 */
export const GLOBAL_ACCELERATOR_HOSTED_ZONE_ID = "Z2BJ6XQ5FK7U4H";

/**
 * What Global Accelerator reads with the CALLER's rights when AddEndpoints (or
 * UpdateEndpointGroup) names a load balancer: the GlobalAcceleratorFullAccess managed policy
 * carries exactly these beside globalaccelerator:* (AWS Managed Policy Reference, v6). None of
 * them has a resource type (Service Authorization Reference for EC2 and ELB), so they are
 * granted on "*". Without them a failover could promote the database and then fail to move
 * traffic; the controller's readiness simulates them.
 */
export const ENDPOINT_CHECK_ACTIONS: readonly string[] = [
    "elasticloadbalancing:DescribeLoadBalancers",
    "ec2:DescribeAddresses",
    "ec2:DescribeInstances",
    "ec2:DescribeInternetGateways",
    "ec2:DescribeRegions",
    "ec2:DescribeSubnets",
];

/** The serving endpoint's weight: the API's default, set explicitly (lib/rules.ts ACCELERATOR_ENDPOINT_WEIGHT). */
export const SERVING_WEIGHT = 128;

/**
 * Where the global stack publishes its listener's ARN for the site stacks: an SSM parameter in
 * the global region. A site stack reads it at deploy time, so no StackReference crosses
 * backends, no manual step copies the ARN, and neither site reads anything stored in the other
 * site's region: us-west-2 is where Global Accelerator's API lives, which every endpoint-group
 * change already needs.
 */
export function listenerArnParameterName(project: string): string {
    return `/${project}/global/accelerator-listener-arn`;
}

/**
 * What a site's endpoint group carries, by the site's role. The writer's group serves: dial
 * 100, its load balancer at weight 128. The standby's group holds **no endpoint** and dial 0.
 *
 * Why not the standby's load balancer at weight 0: a dial of 0 does not fence a group (when
 * the serving group has no healthy endpoint with weight > 0, Global Accelerator fails over to
 * other groups and ignores dials), and weight 0 does not fence an endpoint either: when no
 * group has a healthy weighted endpoint, Global Accelerator "fails open" and sends traffic to
 * a random endpoint of the group closest to the client, weight 0 included (Global Accelerator
 * developer guide, "Endpoint weights" and "Failover for unhealthy endpoints"). An endpoint
 * that is not in the group receives nothing, ever: no request reaches a standby whose
 * database has not been promoted. The failover controller adds it (weight 128, dial 100) after
 * the promotion; setting `writerRegion` then makes `pulumi up` agree.
 */
export interface EndpointGroupTraffic {
    readonly trafficDialPercentage: number;
    /** The load balancer's weight, or undefined: the group holds no endpoint. */
    readonly endpointWeight: number | undefined;
}

export function trafficFor(role: StackRole): EndpointGroupTraffic {
    return role === "writer"
        ? { trafficDialPercentage: 100, endpointWeight: SERVING_WEIGHT }
        : { trafficDialPercentage: 0, endpointWeight: undefined };
}

/**
 * How long Global Accelerator takes to call an endpoint unhealthy, from the endpoint group's
 * settings (for EC2 and Elastic IP endpoints: interval x threshold consecutive failures).
 */
export function detectionSeconds(intervalSeconds: number, thresholdCount: number): number {
    return intervalSeconds * thresholdCount;
}
