/**
 * What the deployed functions print: one JSON line per event (CloudWatch Logs keeps them), and
 * metrics as CloudWatch Embedded Metric Format lines (no extra API call or permission).
 */

/** One event as a JSON log line, stamped with the time. */
export function jsonLog(event: string, fields: Record<string, unknown> = {}): void {
    process.stdout.write(`${JSON.stringify({ ts: Date.now(), event, ...fields })}\n`);
}

/** One EMF line: `values` as metrics of `namespace`, with `dimensions` (name to value). */
export function emfLine(namespace: string, dimensions: Record<string, string>, values: Record<string, number>): string {
    return `${JSON.stringify({
        _aws: {
            Timestamp: Date.now(),
            CloudWatchMetrics: [
                { Namespace: namespace, Dimensions: [Object.keys(dimensions)], Metrics: Object.keys(values).map((Name) => ({ Name })) },
            ],
        },
        ...dimensions,
        ...values,
    })}\n`;
}
