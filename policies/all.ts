/**
 * Every policy of the pack, in the order the pack lists them. policies/index.ts builds the
 * PolicyPack from this list; the offline runner and the tests use the same list.
 */
import type { Policies } from "@pulumi/policy";
import { backupBucketsElsewhere, rdsBackupsReplicated } from "./backups";
import { tierCounts } from "./counts";
import { tierMarkRequired } from "./marks";
import { worldIngressOnlyOnAlb } from "./network";
import { allowedRegions } from "./regions";
import {
    encryptionAtRest,
    eksEndpointRestricted,
    imdsv2Required,
    noPublicExposure,
    protectDataResources,
    rdsBackupsAndDeletionProtection,
} from "./security";
import { instanceSizeByTier } from "./sizes";
import { tierAzSpread } from "./spread";
import { s3Encrypted, s3PublicAccessBlocked } from "./storage";
import { clientIpPreservation, endpointGroupPerSite, noPublicOrigin, oneAccelerator, standbyGetsNoTraffic } from "./traffic";
import { approvedVersions, eksStandardSupportEnding, lambdaRuntimeDeprecationEnding } from "./versions";
import { writerAgentPerSite, writerLeaseStore } from "./failover";

export const POLICY_PACK_NAME = "ecommerce-platform";

export const ALL_POLICIES: Policies = [
    instanceSizeByTier,
    tierCounts,
    tierAzSpread,
    tierMarkRequired,
    allowedRegions,
    approvedVersions,
    eksStandardSupportEnding,
    lambdaRuntimeDeprecationEnding,
    encryptionAtRest,
    s3Encrypted,
    s3PublicAccessBlocked,
    imdsv2Required,
    noPublicExposure,
    worldIngressOnlyOnAlb,
    rdsBackupsAndDeletionProtection,
    eksEndpointRestricted,
    protectDataResources,
    oneAccelerator,
    endpointGroupPerSite,
    standbyGetsNoTraffic,
    clientIpPreservation,
    noPublicOrigin,
    backupBucketsElsewhere,
    rdsBackupsReplicated,
    writerLeaseStore,
    writerAgentPerSite,
];
