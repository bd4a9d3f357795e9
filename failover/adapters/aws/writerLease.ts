/**
 * The writer lease in DynamoDB (failover/core/writerLease.ts): one item, `pk = "writer"`, in
 * the lease table (deployed by the global stack outside both sites' regions).
 *
 *   establish  PutItem, condition attribute_not_exists(pk): the first writer's epoch 1
 *   renew      UpdateItem, condition holder = :me AND epoch = :epoch: a new random version, and
 *              when anchored, the deadline its database may keep (the loss window's fence end),
 *              never earlier than the stored one (overlapping runs of the agent)
 *   take       UpdateItem, condition version = :seen: holder, epoch + 1, a new version; the old
 *              holder's deadline removed (the new holder's database has its own clock)
 *   handBack   UpdateItem, condition holder = :me AND epoch = :epoch (an abort): the lease back
 *              to the old writer's region at epoch + 1, whose agent adopts it and reopens
 *   requestHandover / publishHandover / withdrawHandover   a planned switchover
 *              (failover/core/writerLease.ts Handover): the request is conditional on the holder,
 *              its epoch and no handover under way; every renewal is conditional on no handover,
 *              so none lands from then on; the holder's agent publishes its final beat (a new
 *              version, which the taker takes); a withdrawal moves the holder to epoch + 1
 *
 * Reads are strongly consistent (ConsistentRead). On a multi-Region strongly consistent (MRSC)
 * global table, "Conditional writes always evaluate the condition expression against the
 * latest version of an item" and strong reads "always return the latest version" (DynamoDB
 * developer guide, V2globaltables_HowItWorks, "multi-Region strong consistency"); two Regions
 * writing the item at once get ReplicatedWriteConflictException, which is a failed attempt
 * here (the caller tries again on its cadence), never a changed lease. MRSC has no
 * transactions, so nothing here uses them.
 *
 * The SDK retries a write whose answer was lost. A retried renewal is idempotent (its
 * condition still holds); a retried takeover finds its own new version and reports success.
 */
import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { randomUUID } from "crypto";
import { LeaseChangedError, type ReadinessCheck, type RenewalAnchor, type WriterLeaseStore } from "../../core/ports";
import type { Handover, WriterLeaseRecord } from "../../core/writerLease";
import { call } from "./calls";

/** The lease item's key. */
export const WRITER_LEASE_KEY = { pk: "writer" } as const;

const isConditionFailure = (err: unknown) =>
    err instanceof ConditionalCheckFailedException ||
    (err as { cause?: unknown }).cause instanceof ConditionalCheckFailedException ||
    (err as { code?: string }).code === "ConditionalCheckFailedException" ||
    (err as { name?: string }).name === "ConditionalCheckFailedException";

function parseHandover(raw: unknown, location: string): Handover {
    const h = raw as Record<string, unknown> | null;
    if (typeof h !== "object" || h === null || typeof h.to !== "string") {
        throw new Error(`${location}: not a handover (${JSON.stringify(raw)})`);
    }
    const num = (v: unknown) => (v === undefined ? undefined : Number(v));
    const finalBeatAt = num(h.finalBeatAt);
    const fencedAt = num(h.fencedAt);
    return {
        to: h.to,
        requestedAt: Number(h.requestedAt),
        ...(finalBeatAt !== undefined ? { finalBeatAt } : {}),
        ...(fencedAt !== undefined ? { fencedAt } : {}),
        ...(typeof h.gtid === "string" ? { gtid: h.gtid } : {}),
    };
}

export function parseLeaseItem(item: Record<string, unknown>, location: string): WriterLeaseRecord {
    const { holder, epoch, version, leaseMs, renewedAt, anchoredAt, deadline, handover } = item;
    if (typeof holder !== "string" || typeof version !== "string" || !Number.isInteger(Number(epoch)) || Number(epoch) < 1) {
        throw new Error(`${location}: not a writer lease (holder ${JSON.stringify(holder)}, epoch ${JSON.stringify(epoch)})`);
    }
    return {
        holder,
        epoch: Number(epoch),
        version,
        leaseMs: Number(leaseMs),
        renewedAt: Number(renewedAt),
        ...(anchoredAt !== undefined ? { anchoredAt: Number(anchoredAt) } : {}),
        ...(deadline !== undefined ? { deadline: Number(deadline) } : {}),
        ...(handover !== undefined ? { handover: parseHandover(handover, location) } : {}),
    };
}

export interface DynamoWriterLeaseOptions {
    /** The writer's wall clock, stored for people only. @default Date.now */
    readonly now?: () => number;
}

export class DynamoWriterLease implements WriterLeaseStore {
    private readonly documents: DynamoDBDocumentClient;
    readonly location: string;

    constructor(
        client: DynamoDBClient,
        private readonly table: string,
        private readonly options: DynamoWriterLeaseOptions = {},
    ) {
        this.documents = DynamoDBDocumentClient.from(client);
        this.location = `dynamodb://${table}/writer`;
    }

    private now(): number {
        return (this.options.now ?? Date.now)();
    }

    async read(signal?: AbortSignal): Promise<WriterLeaseRecord | undefined> {
        const out = await call("dynamodb:GetItem", this.location, () =>
            this.documents.send(new GetCommand({ TableName: this.table, Key: WRITER_LEASE_KEY, ConsistentRead: true }), {
                abortSignal: signal,
            }),
        );
        return out.Item === undefined ? undefined : parseLeaseItem(out.Item, this.location);
    }

    async establish(holder: string, leaseMs: number, signal?: AbortSignal, anchor?: RenewalAnchor): Promise<WriterLeaseRecord> {
        const now = this.now();
        const deadline = anchor !== undefined && anchor !== "unanchored" ? anchor.deadline : undefined;
        const record: WriterLeaseRecord = {
            holder,
            epoch: 1,
            version: randomUUID(),
            leaseMs,
            renewedAt: now,
            anchoredAt: now,
            ...(deadline !== undefined ? { deadline } : {}),
        };
        return this.conditional("dynamodb:PutItem", record, signal, undefined, () =>
            this.documents.send(
                new PutCommand({
                    TableName: this.table,
                    Item: { ...WRITER_LEASE_KEY, ...record },
                    ConditionExpression: "attribute_not_exists(pk)",
                }),
                { abortSignal: signal },
            ),
        );
    }

    async renew(holder: string, epoch: number, leaseMs: number, signal?: AbortSignal, anchor?: RenewalAnchor): Promise<WriterLeaseRecord> {
        const now = this.now();
        const anchored = anchor !== "unanchored";
        const deadline = anchor !== undefined && anchor !== "unanchored" ? anchor.deadline : undefined;
        const record: WriterLeaseRecord = {
            holder,
            epoch,
            version: randomUUID(),
            leaseMs,
            renewedAt: now,
            ...(anchored ? { anchoredAt: now } : {}),
            ...(deadline !== undefined ? { deadline } : {}),
        };
        // The deadline only moves forward: two runs of the agent overlap, and the one that anchored
        // later may land first. The database keeps the larger deadline (GREATEST), so the lease's
        // must never fall below it: a renewal whose deadline is not past the stored one fails its
        // condition and finds the item renewed by its sibling (same holder and epoch, a later
        // deadline), which is this renewal's result too.
        // A handover requested meanwhile is never a sibling's renewal: no renewal lands under one.
        const sibling = (found: WriterLeaseRecord) =>
            deadline !== undefined &&
            found.handover === undefined &&
            found.holder === holder &&
            found.epoch === epoch &&
            (found.deadline ?? -Infinity) > deadline;
        const written = await this.conditional("dynamodb:UpdateItem", record, signal, sibling, () =>
            this.documents.send(
                new UpdateCommand({
                    TableName: this.table,
                    Key: WRITER_LEASE_KEY,
                    UpdateExpression: `SET version = :version, leaseMs = :lease, renewedAt = :at${anchored ? ", anchoredAt = :at" : ""}${deadline !== undefined ? ", deadline = :deadline" : ""}`,
                    // No renewal while a handover is under way: its holder's agent is closing for good.
                    ConditionExpression: `holder = :me AND epoch = :epoch AND attribute_not_exists(handover)${deadline !== undefined ? " AND (attribute_not_exists(deadline) OR deadline <= :deadline)" : ""}`,
                    ExpressionAttributeValues: {
                        ":version": record.version,
                        ":lease": leaseMs,
                        ":at": record.renewedAt,
                        ":me": holder,
                        ":epoch": epoch,
                        ...(deadline !== undefined ? { ":deadline": deadline } : {}),
                    },
                    // The item as written: an unanchored renewal keeps the last anchor's time.
                    ReturnValues: "ALL_NEW",
                }),
                { abortSignal: signal },
            ),
        );
        return written;
    }

    async take(holder: string, seen: WriterLeaseRecord, leaseMs: number, signal?: AbortSignal): Promise<WriterLeaseRecord> {
        // A taker's database is the standby's: its agent anchors from the next renewal on.
        const now = this.now();
        const record: WriterLeaseRecord = {
            holder,
            epoch: seen.epoch + 1,
            version: randomUUID(),
            leaseMs,
            renewedAt: now,
            anchoredAt: now,
        };
        // A take whose answer was lost, then renewed by the taker's own agent before the SDK's
        // retry, shows the taker at the new epoch with another version: still this take.
        const ours = (found: WriterLeaseRecord) => found.holder === holder && found.epoch === record.epoch;
        return this.conditional("dynamodb:UpdateItem", record, signal, ours, () =>
            this.documents.send(
                new UpdateCommand({
                    TableName: this.table,
                    Key: WRITER_LEASE_KEY,
                    UpdateExpression:
                        "SET holder = :holder, epoch = :epoch, version = :version, leaseMs = :lease, renewedAt = :at, anchoredAt = :at REMOVE deadline, handover",
                    ConditionExpression: "version = :seen",
                    ExpressionAttributeValues: {
                        ":holder": holder,
                        ":epoch": record.epoch,
                        ":version": record.version,
                        ":lease": leaseMs,
                        ":at": record.renewedAt,
                        ":seen": seen.version,
                    },
                }),
                { abortSignal: signal },
            ),
        );
    }

    async handBack(holder: string, epoch: number, to: string, leaseMs: number, signal?: AbortSignal): Promise<WriterLeaseRecord> {
        const now = this.now();
        const record: WriterLeaseRecord = { holder: to, epoch: epoch + 1, version: randomUUID(), leaseMs, renewedAt: now, anchoredAt: now };
        const ours = (found: WriterLeaseRecord) => found.holder === to && found.epoch === record.epoch;
        return this.conditional("dynamodb:UpdateItem", record, signal, ours, () =>
            this.documents.send(
                new UpdateCommand({
                    TableName: this.table,
                    Key: WRITER_LEASE_KEY,
                    UpdateExpression:
                        "SET holder = :to, epoch = :next, version = :version, leaseMs = :lease, renewedAt = :at, anchoredAt = :at REMOVE deadline, handover",
                    ConditionExpression: "holder = :me AND epoch = :epoch",
                    ExpressionAttributeValues: {
                        ":to": to,
                        ":next": record.epoch,
                        ":version": record.version,
                        ":lease": leaseMs,
                        ":at": now,
                        ":me": holder,
                        ":epoch": epoch,
                    },
                }),
                { abortSignal: signal },
            ),
        );
    }

    async requestHandover(holder: string, epoch: number, to: string, signal?: AbortSignal): Promise<WriterLeaseRecord> {
        const requestedAt = this.now();
        const record: WriterLeaseRecord = { holder, epoch, version: randomUUID(), leaseMs: 0, renewedAt: 0, handover: { to, requestedAt } };
        const ours = (found: WriterLeaseRecord) =>
            found.holder === holder && found.epoch === epoch && found.handover?.to === to && found.handover.requestedAt === requestedAt;
        return this.conditional("dynamodb:UpdateItem", record, signal, ours, () =>
            this.documents.send(
                new UpdateCommand({
                    TableName: this.table,
                    Key: WRITER_LEASE_KEY,
                    UpdateExpression: "SET version = :version, handover = :handover",
                    ConditionExpression: "holder = :me AND epoch = :epoch AND attribute_not_exists(handover)",
                    ExpressionAttributeValues: {
                        ":version": record.version,
                        ":handover": { to, requestedAt },
                        ":me": holder,
                        ":epoch": epoch,
                    },
                    ReturnValues: "ALL_NEW",
                }),
                { abortSignal: signal },
            ),
        );
    }

    async publishHandover(
        holder: string,
        epoch: number,
        published: Required<Pick<Handover, "finalBeatAt" | "fencedAt">> & Pick<Handover, "gtid">,
        signal?: AbortSignal,
    ): Promise<WriterLeaseRecord> {
        const version = randomUUID();
        const record: WriterLeaseRecord = { holder, epoch, version, leaseMs: 0, renewedAt: 0 };
        // Published once: a second run of the agent finds the first's publication, which stands.
        const ours = (found: WriterLeaseRecord) =>
            found.holder === holder && found.epoch === epoch && found.handover?.finalBeatAt === published.finalBeatAt;
        return this.conditional("dynamodb:UpdateItem", record, signal, ours, () =>
            this.documents.send(
                new UpdateCommand({
                    TableName: this.table,
                    Key: WRITER_LEASE_KEY,
                    UpdateExpression: `SET version = :version, handover.finalBeatAt = :beat, handover.fencedAt = :fenced${published.gtid !== undefined ? ", handover.gtid = :gtid" : ""}`,
                    ConditionExpression:
                        "holder = :me AND epoch = :epoch AND attribute_exists(handover) AND attribute_not_exists(handover.finalBeatAt)",
                    ExpressionAttributeValues: {
                        ":version": version,
                        ":beat": published.finalBeatAt,
                        ":fenced": published.fencedAt,
                        ...(published.gtid !== undefined ? { ":gtid": published.gtid } : {}),
                        ":me": holder,
                        ":epoch": epoch,
                    },
                    ReturnValues: "ALL_NEW",
                }),
                { abortSignal: signal },
            ),
        );
    }

    async withdrawHandover(holder: string, epoch: number, signal?: AbortSignal): Promise<WriterLeaseRecord> {
        const record: WriterLeaseRecord = { holder, epoch: epoch + 1, version: randomUUID(), leaseMs: 0, renewedAt: 0 };
        const ours = (found: WriterLeaseRecord) => found.holder === holder && found.epoch === epoch + 1 && found.handover === undefined;
        return this.conditional("dynamodb:UpdateItem", record, signal, ours, () =>
            this.documents.send(
                new UpdateCommand({
                    TableName: this.table,
                    Key: WRITER_LEASE_KEY,
                    // The holder keeps the lease at a new epoch: its old epoch's renewals are refused,
                    // and an agent late with one cannot move its database's deadline (fence.ts seal).
                    UpdateExpression: "SET epoch = :next, version = :version REMOVE handover",
                    ConditionExpression: "holder = :me AND epoch = :epoch AND attribute_exists(handover)",
                    ExpressionAttributeValues: { ":next": epoch + 1, ":version": record.version, ":me": holder, ":epoch": epoch },
                    ReturnValues: "ALL_NEW",
                }),
                { abortSignal: signal },
            ),
        );
    }

    /**
     * One conditional write. A condition failure is LeaseChangedError, unless the item is now
     * exactly what this write wrote: the SDK retried a write whose answer was lost.
     */
    private async conditional(
        name: string,
        record: WriterLeaseRecord,
        signal: AbortSignal | undefined,
        ours: ((found: WriterLeaseRecord) => boolean) | undefined,
        send: () => Promise<{ Attributes?: Record<string, unknown> } | object>,
    ): Promise<WriterLeaseRecord> {
        try {
            const out = (await call(name, this.location, send)) as { Attributes?: Record<string, unknown> };
            return out.Attributes !== undefined ? parseLeaseItem(out.Attributes, this.location) : record;
        } catch (err) {
            if (!isConditionFailure(err)) {
                throw err;
            }
            const now = await this.read(signal);
            if (now !== undefined && (now.version === record.version || ours?.(now) === true)) {
                return now;
            }
            const handover = now?.handover !== undefined ? `, handing over to ${now.handover.to}` : "";
            throw new LeaseChangedError(
                `${this.location}: the lease changed (now ${now === undefined ? "absent" : `held by ${now.holder}, epoch ${now.epoch}${handover}`}); ` +
                    `${record.holder} did not ${record.epoch === 1 && name === "dynamodb:PutItem" ? "establish" : "write"} it`,
                { cause: err, found: now },
            );
        }
    }

    async readiness(): Promise<ReadinessCheck[]> {
        try {
            const lease = await this.read();
            return [
                {
                    name: "writer-lease",
                    ok: lease !== undefined,
                    detail:
                        lease === undefined
                            ? `${this.location}: no writer holds the lease yet (the writer region's agent establishes it)`
                            : `${this.location}: held by ${lease.holder}, epoch ${lease.epoch}`,
                },
            ];
        } catch (err) {
            return [{ name: "writer-lease", ok: false, detail: (err as Error).message }];
        }
    }
}
