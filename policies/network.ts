/**
 * Who can reach the platform from the internet: only the application load balancer's
 * listeners (80 and 443). Rules are related to their security group, and security groups to
 * the load balancers using them, through dependencies (URNs): it works on a first preview,
 * when every ID is still unknown, and whether a rule is inline or its own resource.
 */
import type { PolicyResource } from "@pulumi/policy";
import { dependenciesOf, stackPolicy } from "./kit";

const WORLD = ["0.0.0.0/0", "::/0"];
const ALB_PORTS = [80, 443];

interface WorldRule {
    readonly rule: PolicyResource;
    readonly group: PolicyResource | undefined;
    readonly from: number;
    readonly to: number;
    readonly protocol: string;
}

function worldRules(resources: readonly PolicyResource[]): WorldRule[] {
    const rules: WorldRule[] = [];
    for (const r of resources) {
        const p = r.props;
        if (
            r.type === "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule" &&
            (WORLD.includes(p.cidrIpv4) || WORLD.includes(p.cidrIpv6))
        ) {
            rules.push({
                rule: r,
                group: dependenciesOf(r, "securityGroupId")[0],
                from: Number(p.fromPort ?? -1),
                to: Number(p.toPort ?? -1),
                protocol: String(p.ipProtocol),
            });
        }
        if (
            r.type === "aws:ec2/securityGroupRule:SecurityGroupRule" &&
            p.type === "ingress" &&
            [...(p.cidrBlocks ?? []), ...(p.ipv6CidrBlocks ?? [])].some((c: string) => WORLD.includes(c))
        ) {
            rules.push({
                rule: r,
                group: dependenciesOf(r, "securityGroupId")[0],
                from: Number(p.fromPort),
                to: Number(p.toPort),
                protocol: String(p.protocol),
            });
        }
        if (r.type === "aws:ec2/securityGroup:SecurityGroup") {
            for (const i of Array.isArray(p.ingress) ? p.ingress : []) {
                if ([...(i.cidrBlocks ?? []), ...(i.ipv6CidrBlocks ?? [])].some((c: string) => WORLD.includes(c))) {
                    rules.push({ rule: r, group: r, from: Number(i.fromPort), to: Number(i.toPort), protocol: String(i.protocol) });
                }
            }
        }
    }
    return rules;
}

export const worldIngressOnlyOnAlb = stackPolicy({
    name: "world-ingress-only-alb",
    description:
        "Security groups admit 0.0.0.0/0 or ::/0 only on ports 80 and 443 of a group used by an application load balancer, whether the rule is inline or its own resource.",
    enforcementLevel: "mandatory",
    validate: (args, report) => {
        const resources = args.resources;
        const albGroups = new Set(
            resources
                .filter(
                    (r) => r.type === "aws:lb/loadBalancer:LoadBalancer" && (r.props.loadBalancerType ?? "application") === "application",
                )
                .flatMap((lb) => dependenciesOf(lb, "securityGroups").map((g) => g.urn)),
        );
        const rules = worldRules(resources);
        for (const { rule, group, from, to, protocol } of rules) {
            const ports = from === to ? `${from}` : `${from}-${to}`;
            if (!group || !albGroups.has(group.urn)) {
                report(
                    `${rule.type} ${rule.name} opens ${protocol} ${ports} to the world on ${group ? `security group ${group.name}, which no application load balancer uses` : "a security group outside this stack"}`,
                    rule.urn,
                );
            } else if ((protocol !== "tcp" && protocol !== "6") || from !== to || !ALB_PORTS.includes(from)) {
                report(
                    `${rule.type} ${rule.name} opens ${protocol} ${ports} to the world on the load balancer's group ${group.name}; only tcp 80 and 443 may be`,
                    rule.urn,
                );
            }
        }
        // Examined: every security group and rule resource of the stack.
        return resources.filter((r) => /^aws:(ec2\/securityGroup(Rule)?:|vpc\/securityGroup(Ingress|Egress)Rule:)/.test(r.type)).length;
    },
});
