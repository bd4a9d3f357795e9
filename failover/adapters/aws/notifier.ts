/** The failover's report, published to an SNS topic in the controller's region. */
import { GetTopicAttributesCommand, PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import type { ActionContext, ActionResult, FailoverReport, Notifier, ReadinessCheck } from "../../core/ports";
import { call } from "./calls";

export class SnsNotifier implements Notifier {
    constructor(
        private readonly client: SNSClient,
        private readonly topicArn: string,
    ) {}

    async notify(report: FailoverReport, context: ActionContext): Promise<ActionResult> {
        // A retried publish may notify twice; a notification lost is worse.
        const subject = `Failover ${report.from} -> ${report.to} (${report.trigger})`.slice(0, 100);
        const out = await call("sns:Publish", this.topicArn, () =>
            this.client.send(
                new PublishCommand({
                    TopicArn: this.topicArn,
                    Subject: subject,
                    Message: JSON.stringify({ ...report, summary: `${subject}. Data at risk: ${report.dataAtRisk}` }, null, 2),
                }),
                { abortSignal: context.signal },
            ),
        );
        return { detail: `published to ${this.topicArn} (message ${out.MessageId ?? "?"})` };
    }

    async readiness(): Promise<ReadinessCheck[]> {
        try {
            await call("sns:GetTopicAttributes", this.topicArn, () =>
                this.client.send(new GetTopicAttributesCommand({ TopicArn: this.topicArn })),
            );
            return [{ name: "notification topic", ok: true, detail: `${this.topicArn} exists` }];
        } catch (err) {
            return [{ name: "notification topic", ok: false, detail: (err as Error).message }];
        }
    }
}
