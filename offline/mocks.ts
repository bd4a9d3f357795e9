/**
 * The Pulumi mocks of this project: resources get the outputs of offline/awsModel.ts,
 * provider functions (invokes) get answers modelled on the real APIs, and anything unknown
 * is an error that fails the run. In preview mode, computed outputs and IDs are unknown, as
 * on a first `pulumi preview`.
 */
import * as pulumi from "@pulumi/pulumi";
import { unknownValue } from "@pulumi/pulumi/runtime/rpc";
import { AL2023_AMI_PARAMETER } from "../lib/amis";
import { listenerArnParameterName } from "../lib/accelerator";
import {
    ACCOUNT_ID,
    GLOBAL_ACCELERATOR_API_REGION,
    PARTITION,
    acceleratorArnFor,
    hex,
    listenerArnFor,
    modelFor,
    zonesOf,
} from "./awsModel";

export interface InvokeRecord {
    readonly token: string;
    readonly args: Record<string, unknown>;
}

export interface MockSettings {
    /** The stack's region (aws:region): where default-provider resources live. */
    readonly region: string;
    readonly preview: boolean;
    /** Values of Secrets Manager secrets the program reads (by name), e.g. set at bootstrap. */
    readonly secretValues?: Readonly<Record<string, string>>;
}

const DEFAULT_SECRET_VALUES: Readonly<Record<string, string>> = {
    "ecommerce/alertmanager/webhook-url": "https://hooks.example.invalid/services/T000/B000/mock",
};

type InvokeModel = (args: Record<string, any>, region: string, settings: MockSettings) => Record<string, unknown>;

const INVOKES: Readonly<Record<string, InvokeModel>> = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": (args, region) => {
        const zones = zonesOf(region);
        if (args.state !== undefined && args.state !== "available") {
            throw new Error(`getAvailabilityZones: the mocks model only state=available, got ${args.state}`);
        }
        return {
            id: region,
            names: zones.map((z) => z.name),
            zoneIds: zones.map((z) => z.zoneId),
            groupNames: zones.map(() => region),
            state: "available",
            region,
        };
    },
    "aws:index/getCallerIdentity:getCallerIdentity": () => ({
        id: ACCOUNT_ID,
        accountId: ACCOUNT_ID,
        arn: `arn:${PARTITION}:sts::${ACCOUNT_ID}:assumed-role/deployer/session`,
        userId: "AROAEXAMPLE:session",
    }),
    "aws:index/getPartition:getPartition": () => ({
        id: PARTITION,
        partition: PARTITION,
        dnsSuffix: "amazonaws.com",
        reverseDnsPrefix: "com.amazonaws",
    }),
    "aws:index/getRegion:getRegion": (_args, region) => ({ id: region, name: region, region, endpoint: `ec2.${region}.amazonaws.com` }),
    "aws:ec2/getAmi:getAmi": (args, region) => {
        const nameFilter = (args.filters as { name: string; values: string[] }[] | undefined)?.find((f) => f.name === "name")?.values[0];
        if (!nameFilter || !args.owners?.length) {
            throw new Error("getAmi: the program must filter AMIs by name and owner");
        }
        return {
            id: `ami-${hex(`${region}|${nameFilter}`, 17)}`,
            name: nameFilter.replace("*", "2026.11.01"),
            ownerId: ACCOUNT_ID,
            architecture: "x86_64",
            rootDeviceName: "/dev/xvda",
        };
    },
    "aws:ssm/getParameter:getParameter": (args, region) => {
        // AWS's public AMI parameter, and the listener the global stack publishes in its region
        // (a parameter lives in one region: asked elsewhere, it does not exist).
        let value: string;
        if (args.name === AL2023_AMI_PARAMETER) {
            value = `ami-${hex(`${region}|${args.name}`, 17)}`;
        } else if (args.name === listenerArnParameterName("ecommerce")) {
            if (region !== GLOBAL_ACCELERATOR_API_REGION) {
                throw new Error(
                    `getParameter: ParameterNotFound: ${args.name} lives in ${GLOBAL_ACCELERATOR_API_REGION} (the global stack), not ${region}`,
                );
            }
            value = listenerArnFor(acceleratorArnFor("ecommerce-accelerator"));
        } else {
            throw new Error(
                `getParameter: the mocks know only ${AL2023_AMI_PARAMETER} and ${listenerArnParameterName("ecommerce")}, not ${args.name}`,
            );
        }
        return {
            id: args.name,
            name: args.name,
            type: "String",
            // The provider marks `value` secret whatever the parameter holds; insecureValue is plain.
            value: pulumi.secret(value),
            insecureValue: value,
            version: 1,
            withDecryption: true,
            arn: `arn:${PARTITION}:ssm:${region}::parameter${args.name}`,
        };
    },
    "aws:secretsmanager/getSecretVersion:getSecretVersion": (args, region, settings) => {
        const values = settings.secretValues ?? DEFAULT_SECRET_VALUES;
        const value = values[args.secretId];
        if (value === undefined) {
            throw new Error(`getSecretVersion: secret ${args.secretId} does not exist in ${region} (create it at bootstrap)`);
        }
        return {
            id: `${args.secretId}|AWSCURRENT`,
            arn: `arn:${PARTITION}:secretsmanager:${region}:${ACCOUNT_ID}:secret:${args.secretId}-AbCdEf`,
            secretId: args.secretId,
            secretString: value,
            versionId: "00000000-0000-4000-8000-000000000001",
            versionStage: "AWSCURRENT",
        };
    },
};

/** Lists the invoke tokens the mocks answer (used in error messages and docs). */
export const KNOWN_INVOKES = Object.keys(INVOKES);

export class PlatformMocks implements pulumi.runtime.Mocks {
    readonly invokes: InvokeRecord[] = [];
    readonly errors: string[] = [];
    /**
     * Rejects at the first error a mock raises. Under the real engine a failed invoke or
     * registration fails the deployment; under mocks its dependents would just wait forever,
     * so the harness races the program against this.
     */
    readonly failed: Promise<never>;
    private fail: (error: Error) => void = () => undefined;

    constructor(private readonly settings: MockSettings) {
        this.failed = new Promise<never>((_, reject) => {
            this.fail = reject;
        });
        this.failed.catch(() => undefined); // observed by the harness; never unhandled
    }

    private raise(message: string): never {
        this.errors.push(message);
        const error = new Error(message);
        this.fail(error);
        throw error;
    }

    newResource(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: Record<string, any> } {
        const found = modelFor(args.type);
        if (!found) {
            const message = `no mock for resource type ${args.type} (${args.name}): add its outputs to offline/awsModel.ts`;
            this.raise(message);
        }
        const region = typeof args.inputs.region === "string" ? args.inputs.region : this.settings.region;
        let computed;
        try {
            computed = found.model({
                type: args.type,
                name: args.name,
                inputs: args.inputs,
                region,
                hex: (length) => hex(`${region}|${args.type}|${args.name}`, length),
            });
        } catch (err) {
            return this.raise(`${args.type} ${args.name}: ${(err as Error).message}`);
        }
        if (found.kind === "component") {
            return { id: undefined, state: args.inputs };
        }
        const outputs = this.settings.preview ? markUnknown(computed.outputs, args.inputs) : computed.outputs;
        return {
            id: this.settings.preview ? undefined : computed.id,
            state: { ...args.inputs, ...outputs },
        };
    }

    call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
        const model = INVOKES[args.token];
        this.invokes.push({ token: args.token, args: args.inputs });
        if (!model) {
            const message = `no mock for provider function ${args.token}: the program called something the mocks do not model (known: ${KNOWN_INVOKES.join(", ")})`;
            this.raise(message);
        }
        const region = typeof args.inputs.region === "string" ? args.inputs.region : this.settings.region;
        try {
            return model(args.inputs, region, this.settings);
        } catch (err) {
            return this.raise(`${args.token}: ${(err as Error).message}`);
        }
    }
}

/** Computed outputs become unknown in a preview, except where the input already fixes them. */
function markUnknown(outputs: Record<string, unknown>, inputs: Record<string, unknown>): Record<string, unknown> {
    const result: Record<string, unknown> = {};
    for (const key of Object.keys(outputs)) {
        result[key] = key in inputs ? inputs[key] : unknownValue;
    }
    return result;
}
