import * as pulumi from "@pulumi/pulumi";
import { named, Tags } from "../lib/tags";

/**
 * What every tier component shares: its name and arguments, kept for its private steps, and
 * the tags each child gets (the component's tags plus the child's Name).
 */
export abstract class PlatformComponent<Args extends { readonly tags?: Tags }> extends pulumi.ComponentResource {
    protected constructor(
        type: string,
        protected readonly name: string,
        protected readonly args: Args,
        opts?: pulumi.ComponentResourceOptions,
    ) {
        super(type, name, {}, opts);
    }

    /** Tags of a child named `name`. */
    protected tagged(name: string): Record<string, string> {
        return named(this.args.tags, name);
    }
}
