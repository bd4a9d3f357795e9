/**
 * IPv4 CIDR arithmetic for the network plan. Pure functions, no dependencies.
 *
 * The VPC is cut into 16 equal slots (prefix + 4). Slots are fixed per tier and AZ
 * position, so adding a third zone later never renumbers existing subnets:
 *
 *   slots 0-2   private subnets (web servers, EKS nodes and pods)  AZ 1..3
 *   slots 4-6   data subnets (RDS, Redis)                           AZ 1..3
 *   slots 8-10  public subnets (load balancer, NAT gateways)        AZ 1..3
 *   slots 3, 7, 11-15: spare
 */

export interface Cidr {
    readonly network: number; // unsigned 32-bit network address
    readonly prefix: number;
}

export type SubnetTier = "private" | "data" | "public";

export const MAX_AZS = 3;
const TIER_FIRST_SLOT: Readonly<Record<SubnetTier, number>> = { private: 0, data: 4, public: 8 };

function ipToInt(ip: string): number | undefined {
    const parts = ip.split(".");
    if (parts.length !== 4) {
        return undefined;
    }
    let value = 0;
    for (const part of parts) {
        if (!/^(0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255) {
            return undefined;
        }
        value = value * 256 + Number(part);
    }
    return value;
}

function intToIp(value: number): string {
    return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

/** Parses `a.b.c.d/n`; returns undefined when malformed or when host bits are set. */
export function parseCidr(text: string): Cidr | undefined {
    const match = /^([0-9.]+)\/(\d{1,2})$/.exec(text);
    if (!match) {
        return undefined;
    }
    const network = ipToInt(match[1]);
    const prefix = Number(match[2]);
    if (network === undefined || prefix > 32) {
        return undefined;
    }
    if (network % 2 ** (32 - prefix) !== 0) {
        return undefined;
    }
    return { network, prefix };
}

export function formatCidr(cidr: Cidr): string {
    return `${intToIp(cidr.network)}/${cidr.prefix}`;
}

function size(cidr: Cidr): number {
    return 2 ** (32 - cidr.prefix);
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
    return a.network < b.network + size(b) && b.network < a.network + size(a);
}

/** The subnet of `tier` for the AZ at position `azIndex` (0-based) in the VPC `vpcCidr`. */
export function subnetCidr(vpcCidr: string, tier: SubnetTier, azIndex: number): string {
    const vpc = parseCidr(vpcCidr);
    if (!vpc) {
        throw new Error(`subnetCidr: "${vpcCidr}" is not an IPv4 CIDR`);
    }
    if (!Number.isInteger(azIndex) || azIndex < 0 || azIndex >= MAX_AZS) {
        throw new Error(`subnetCidr: AZ position ${azIndex} is outside 0..${MAX_AZS - 1}`);
    }
    const prefix = vpc.prefix + 4;
    const slot = TIER_FIRST_SLOT[tier] + azIndex;
    return formatCidr({ network: vpc.network + slot * 2 ** (32 - prefix), prefix });
}

/**
 * The address `offset` hosts into `cidr`. AWS reserves the first four addresses and the
 * last one of every subnet, so offsets 4 .. size-2 are usable.
 */
export function hostAddress(cidr: string, offset: number): string {
    const parsed = parseCidr(cidr);
    if (!parsed) {
        throw new Error(`hostAddress: "${cidr}" is not an IPv4 CIDR`);
    }
    if (!Number.isInteger(offset) || offset < 4 || offset > size(parsed) - 2) {
        throw new Error(`hostAddress: offset ${offset} is not a usable host of ${cidr} (4..${size(parsed) - 2})`);
    }
    return intToIp(parsed.network + offset);
}
