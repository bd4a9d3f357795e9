/**
 * The CrossGuard policy pack of the e-commerce platform. The only place a PolicyPack is
 * constructed (it starts the analyzer server the Pulumi CLI talks to):
 *
 *   pulumi preview --policy-pack policies     (the deploy wrapper always passes it)
 *
 * Offline, `npm run plan` and the tests run the same policies (policies/all.ts) against the
 * program under mocks, without the engine.
 */
import { PolicyPack } from "@pulumi/policy";
import { ALL_POLICIES, POLICY_PACK_NAME } from "./all";

new PolicyPack(POLICY_PACK_NAME, {
    description: "Sizes, counts, AZ spread, regions, versions and the security baseline of the e-commerce platform.",
    policies: ALL_POLICIES,
});
