/** A DynamoDB-protocol server for tests (dynalite, in memory, on 127.0.0.1), spoken to through the real client. */
import { once } from "events";
import type { AddressInfo } from "net";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import dynalite from "dynalite";

export const TEST_CREDENTIALS = { accessKeyId: "AKIDTEST", secretAccessKey: "test" };

export interface LocalDynamo {
    readonly endpoint: string;
    /** A client of it (one attempt per call: a test sees every failure). */
    readonly client: DynamoDBClient;
    /** Creates a table keyed by the string `pk`, as the controller's and the lease's tables are. */
    createTable(name: string): Promise<string>;
    close(): Promise<void>;
}

export async function startDynalite(region = "us-west-2"): Promise<LocalDynamo> {
    const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const client = new DynamoDBClient({ region, endpoint, credentials: TEST_CREDENTIALS, maxAttempts: 1 });
    return {
        endpoint,
        client,
        async createTable(name) {
            await client.send(
                new CreateTableCommand({
                    TableName: name,
                    KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
                    AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
                    BillingMode: "PAY_PER_REQUEST",
                }),
            );
            return name;
        },
        async close() {
            client.destroy();
            server.close();
            await once(server, "close");
        },
    };
}
