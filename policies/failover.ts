/**
 * The writer lease (failover/core/writerLease.ts) as deployed: its store in the global stack, a
 * DynamoDB table with multi-Region strong consistency (a STRONG replica and a witness, all in one
 * MRSC Region set, deletion-protected), and in every site stack a writer agent beside the
 * database (a VPC function whose configuration names the lease). Without the store no lease can
 * be held; without an agent a site's database stays closed to the application, or, where the
 * fence was never set up, open to a second writer.
 */
import { AGENT_HANDLER, REPLICA_READER_HANDLER } from "../lib/failoverNaming";
import { stackPolicy } from "./kit";

const TABLE = "aws:dynamodb/table:Table";
const FUNCTION = "aws:lambda/function:Function";
/** The US Region set of MRSC tables (DynamoDB developer guide, "Multi-Region strong consistency"). */
const MRSC_REGION_SETS: readonly (readonly string[])[] = [
    ["us-east-1", "us-east-2", "us-west-2"],
    ["eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1"],
    ["ap-northeast-1", "ap-northeast-2", "ap-northeast-3"],
];

export const writerLeaseStore = stackPolicy({
    name: "writer-lease-store",
    description:
        "The global stack holds the writer lease's table: multi-Region strongly consistent (a STRONG replica and a witness in its Region set), deletion-protected.",
    enforcementLevel: "mandatory",
    kinds: ["global"],
    validate: (args, report) => {
        const tables = args.resources.filter((r) => r.type === TABLE && r.props.globalTableWitness !== undefined);
        if (tables.length !== 1) {
            report(
                `expected exactly one multi-Region strongly consistent table (the writer lease's, with a witness), found ${tables.length}`,
            );
        }
        for (const t of tables) {
            const replicas = Array.isArray(t.props.replicas)
                ? (t.props.replicas as { regionName?: string; consistencyMode?: string }[])
                : [];
            const witness = (t.props.globalTableWitness as { regionName?: string }).regionName;
            if (replicas.length !== 1 || replicas[0].consistencyMode !== "STRONG") {
                report(
                    `table ${t.name}: a witness needs exactly one replica with consistencyMode STRONG (found ${JSON.stringify(replicas)})`,
                    t.urn,
                );
            }
            const regions = [...replicas.map((r) => r.regionName), witness].map(String);
            if (!MRSC_REGION_SETS.some((set) => regions.every((r) => set.includes(r)))) {
                report(`table ${t.name}: replica and witness regions ${regions.join(", ")} are not in one MRSC Region set`, t.urn);
            }
            if (t.props.deletionProtectionEnabled !== true) {
                report(`table ${t.name}: deletion protection must be on (losing the lease leaves every site's database closed)`, t.urn);
            }
        }
        // None found: every resource was looked at for being it (the violation says what is missing).
        return tables.length > 0 ? tables.length : args.resources.length;
    },
});

export const writerAgentPerSite = stackPolicy({
    name: "writer-agent-per-site",
    description:
        "Every site stack runs exactly one writer agent (a VPC function beside its database, configured with the writer lease) and one replica reader beside it (the failover's loss window).",
    enforcementLevel: "mandatory",
    validate: (args, report) => {
        const agents = args.resources.filter(
            (r) =>
                r.type === FUNCTION &&
                r.props.handler === AGENT_HANDLER &&
                typeof r.props.environment?.variables?.AGENT_CONFIG === "string",
        );
        const readers = args.resources.filter((r) => r.type === FUNCTION && r.props.handler === REPLICA_READER_HANDLER);
        if (readers.length !== 1) {
            report(
                `expected exactly one replica reader (a function with handler ${REPLICA_READER_HANDLER}), found ${readers.length}: a failover could not bound its loss window, and would hold`,
            );
        }
        for (const r of readers) {
            const subnets = r.props.vpcConfig?.subnetIds;
            if (!Array.isArray(subnets) || subnets.length === 0) {
                report(`replica reader ${r.name}: it must run in the VPC (vpcConfig.subnetIds) to reach the database`, r.urn);
            }
        }
        if (agents.length !== 1) {
            report(
                `expected exactly one writer agent (a function with handler ${AGENT_HANDLER} and AGENT_CONFIG), found ${agents.length}: the site's database fence would have no keeper`,
            );
        }
        for (const a of agents) {
            const subnets = a.props.vpcConfig?.subnetIds;
            if (!Array.isArray(subnets) || subnets.length === 0) {
                report(`writer agent ${a.name}: it must run in the VPC (vpcConfig.subnetIds) to reach the database`, a.urn);
            }
            let config: Record<string, unknown> = {};
            try {
                config = JSON.parse(String(a.props.environment.variables.AGENT_CONFIG)) as Record<string, unknown>;
            } catch {
                report(`writer agent ${a.name}: AGENT_CONFIG is not JSON`, a.urn);
            }
            for (const key of ["leaseTable", "leaseRegion", "appUser"]) {
                if (typeof config[key] !== "string" || config[key] === "") {
                    report(`writer agent ${a.name}: AGENT_CONFIG has no ${key}`, a.urn);
                }
            }
        }
        return agents.length + readers.length > 0 ? agents.length + readers.length : args.resources.length;
    },
});
