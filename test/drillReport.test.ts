/**
 * The drill report's terminal timeline (drill/report.ts foldRepeats): repeats folded, never
 * across a change of the same source's state. The page itself is checked in a real browser by
 * test/drillLoss.test.ts.
 */
import { strict as assert } from "assert";
import { foldRepeats } from "../drill/report";
import type { TimelineEvent } from "../drill/run";

const at = (seconds: number) => 1_000_000 + seconds * 1000;
const agent = (s: number, event: string, extra: Record<string, unknown> = {}): TimelineEvent => ({
    at: at(s),
    event,
    agent: "primary",
    ...extra,
});

describe("drill timeline (drill/report.ts foldRepeats)", () => {
    it("folds an event its source repeats with the same fields into one line with how often and until when, across other sources' events", () => {
        const lines = foldRepeats(
            [
                agent(5, "agent-grace-exhausted"),
                { at: at(5.5), event: "decision", decision: "suspect" },
                agent(6, "agent-grace-exhausted"),
                agent(7, "agent-grace-exhausted"),
            ],
            at(0),
        );
        assert.deepEqual(lines, [
            '   5.000 s  agent-grace-exhausted {"agent":"primary"} (3 times, the last at 7.000 s)',
            '   5.500 s  decision  {"decision":"suspect"}',
        ]);
    });

    it("never folds across a change of the same source's state: fenced, unfenced, fenced stay three lines", () => {
        const lines = foldRepeats([agent(1, "agent-fenced"), agent(2, "agent-unfenced"), agent(3, "agent-fenced")], at(0));
        assert.deepEqual(
            lines.map((l) => l.trim().split(/\s+/).slice(0, 3).join(" ")),
            ["1.000 s agent-fenced", "2.000 s agent-unfenced", "3.000 s agent-fenced"],
        );
    });

    it("keeps events whose fields differ apart", () => {
        const lines = foldRepeats([agent(1, "agent-unfenced", { epoch: 1 }), agent(2, "agent-unfenced", { epoch: 2 })], at(0));
        assert.equal(lines.length, 2);
    });
});
