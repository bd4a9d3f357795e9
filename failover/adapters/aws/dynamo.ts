/**
 * The controller's state and lease in a DynamoDB table in its own region (nothing in the
 * failed region), one item each, keyed by the controller's region:
 *
 *   pk = "<region>#state"   the state as JSON, with a version: every save is conditional on
 *                           the version this run read or wrote last, so a step completion
 *                           written twice (two runs that both read version n) fails the
 *                           second write instead of overwriting the first.
 *   pk = "<region>#lease"   holder and expiry: taken with a conditional put (free, expired, or
 *                           ours), renewed every third of the lease, given back on release.
 *
 * Clocks: expiry is compared with the acquiring run's clock; Lambda hosts keep NTP time, and
 * the lease (tens of seconds) dwarfs their skew.
 */
import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { randomUUID } from "crypto";
import type { Lease, Lock, ReadinessCheck, StateStore } from "../../core/ports";
import { LockHeldError } from "../../core/ports";
import { ControllerState, parseState } from "../../core/state";
import { call } from "./calls";

const isConditionFailure = (err: unknown) =>
    err instanceof ConditionalCheckFailedException ||
    (err as { cause?: unknown }).cause instanceof ConditionalCheckFailedException ||
    (err as { code?: string }).code === "ConditionalCheckFailedException";

/** The state was written by another run since this one read it. */
export class StateConflictError extends Error {}

export class DynamoStateStore implements StateStore {
    private readonly documents: DynamoDBDocumentClient;
    private version: number | undefined;
    readonly location: string;

    constructor(
        client: DynamoDBClient,
        private readonly table: string,
        private readonly region: string,
    ) {
        this.documents = DynamoDBDocumentClient.from(client);
        this.location = `dynamodb://${table}/${region}#state`;
    }

    private get key() {
        return { pk: `${this.region}#state` };
    }

    async load(): Promise<ControllerState | undefined> {
        const out = await call("dynamodb:GetItem", this.location, () =>
            this.documents.send(new GetCommand({ TableName: this.table, Key: this.key, ConsistentRead: true })),
        );
        if (out.Item === undefined) {
            this.version = 0;
            return undefined;
        }
        this.version = Number(out.Item.version);
        return parseState(JSON.parse(String(out.Item.state)), this.location);
    }

    async save(state: ControllerState): Promise<void> {
        if (this.version === undefined) {
            throw new Error(`${this.location}: save before load (the version to write over is unknown)`);
        }
        const next = this.version + 1;
        try {
            await call("dynamodb:PutItem", this.location, () =>
                this.documents.send(
                    new PutCommand({
                        TableName: this.table,
                        Item: { ...this.key, state: JSON.stringify(state), version: next, updatedAt: state.updatedAt },
                        ConditionExpression: "attribute_not_exists(pk) OR version = :read",
                        ExpressionAttributeValues: { ":read": this.version },
                    }),
                ),
            );
        } catch (err) {
            if (isConditionFailure(err)) {
                throw new StateConflictError(
                    `${this.location}: another run wrote the state since this one read version ${this.version}; stop and let one run go on`,
                    {
                        cause: err,
                    },
                );
            }
            throw err;
        }
        this.version = next;
    }

    async readiness(): Promise<ReadinessCheck[]> {
        try {
            await call("dynamodb:GetItem", this.location, () =>
                this.documents.send(new GetCommand({ TableName: this.table, Key: this.key, ConsistentRead: true })),
            );
            return [{ name: "state", ok: true, detail: `${this.location} is readable` }];
        } catch (err) {
            return [{ name: "state", ok: false, detail: (err as Error).message }];
        }
    }
}

export interface DynamoLockOptions {
    readonly leaseMs: number;
    /** How often acquire asks again while another run holds the lease. @default 250 */
    readonly pollMs?: number;
    readonly now?: () => number;
    /** Who holds it (for messages and the item). @default a random ID */
    readonly holder?: string;
    /** How long acquire waits for a lease held elsewhere. @default one lease period and a poll */
    readonly maxWaitMs?: number;
}

export class DynamoLock implements Lock {
    private readonly documents: DynamoDBDocumentClient;
    private readonly location: string;

    constructor(
        client: DynamoDBClient,
        private readonly table: string,
        private readonly region: string,
        private readonly options: DynamoLockOptions,
    ) {
        this.documents = DynamoDBDocumentClient.from(client);
        this.location = `dynamodb://${table}/${region}#lease`;
    }

    private now(): number {
        return (this.options.now ?? Date.now)();
    }

    private get key() {
        return { pk: `${this.region}#lease` };
    }

    /** One attempt: true when this holder now has the lease. */
    private async take(holder: string): Promise<boolean> {
        const now = this.now();
        try {
            await call("dynamodb:PutItem", this.location, () =>
                this.documents.send(
                    new PutCommand({
                        TableName: this.table,
                        Item: { ...this.key, holder, expiresAt: now + this.options.leaseMs },
                        ConditionExpression: "attribute_not_exists(pk) OR expiresAt < :now OR holder = :me",
                        ExpressionAttributeValues: { ":now": now, ":me": holder },
                    }),
                ),
            );
            return true;
        } catch (err) {
            if (isConditionFailure(err)) {
                return false;
            }
            throw err;
        }
    }

    async acquire(): Promise<Lease> {
        const holder = this.options.holder ?? randomUUID();
        const pollMs = this.options.pollMs ?? 250;
        // Wait one lease period (and a poll) for a holder that stopped renewing.
        const giveUpAt = this.now() + (this.options.maxWaitMs ?? this.options.leaseMs + pollMs);
        while (!(await this.take(holder))) {
            if (this.now() >= giveUpAt) {
                throw new LockHeldError(
                    `${this.location}: another controller run holds the lease and keeps renewing it; stop it first (a lease expires ${this.options.leaseMs / 1000} s after its holder stops)`,
                );
            }
            await new Promise((resolve) => setTimeout(resolve, pollMs));
        }
        const lost = new AbortController();
        const renew = setInterval(
            () => {
                const now = this.now();
                this.documents
                    .send(
                        new UpdateCommand({
                            TableName: this.table,
                            Key: this.key,
                            UpdateExpression: "SET expiresAt = :until",
                            ConditionExpression: "holder = :me",
                            ExpressionAttributeValues: { ":until": now + this.options.leaseMs, ":me": holder },
                        }),
                    )
                    .catch((err: unknown) => {
                        clearInterval(renew);
                        lost.abort(
                            new LockHeldError(
                                `${this.location}: the lease was lost (${(err as Error).name}: ${(err as Error).message}); this run stopped acting`,
                            ),
                        );
                    });
            },
            Math.max(100, this.options.leaseMs / 3),
        );
        renew.unref();
        return {
            lost: lost.signal,
            assertHeld: () => lost.signal.throwIfAborted(),
            release: async () => {
                clearInterval(renew);
                if (lost.signal.aborted) {
                    return;
                }
                await this.documents
                    .send(
                        new DeleteCommand({
                            TableName: this.table,
                            Key: this.key,
                            ConditionExpression: "holder = :me",
                            ExpressionAttributeValues: { ":me": holder },
                        }),
                    )
                    .catch((err: unknown) => {
                        if (!isConditionFailure(err)) {
                            throw err;
                        }
                    });
            },
        };
    }

    async readiness(): Promise<ReadinessCheck[]> {
        try {
            const out = await call("dynamodb:GetItem", this.location, () =>
                this.documents.send(new GetCommand({ TableName: this.table, Key: this.key, ConsistentRead: true })),
            );
            const held = out.Item !== undefined && Number(out.Item.expiresAt) >= this.now();
            return [
                {
                    name: "lease",
                    ok: !held,
                    detail: held ? `${this.location}: held by ${String(out.Item?.holder)}` : `${this.location}: free`,
                },
            ];
        } catch (err) {
            return [{ name: "lease", ok: false, detail: (err as Error).message }];
        }
    }
}
