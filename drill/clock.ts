/**
 * Per-process clocks for the drill: a process whose clock is `offsetMs` ahead of the machine's
 * and runs at `rate` (1.1: 10 % fast; an interval of 1 s of real time reads as 1.1 s on it, and a
 * wait of 1.1 s on it lasts 1 s of real time). The controller (the taker) and the primary's
 * writer agent each get one; the databases keep the machine's clock (MariaDB reads the kernel's
 * time, and the drill does not fake it), so the database's own rate error, the r of the timing
 * inequality (failover/core/writerLease.ts) on the writer's side, is not varied here.
 */
import { setTimeout as sleep } from "timers/promises";
import type { AgentClock } from "../failover/agent/agent";
import type { Clock } from "../failover/controller";

export interface ClockSkew {
    /** How far the process's wall clock is ahead of the machine's (negative: behind). */
    readonly offsetMs: number;
    /** How fast it runs: 1 is true time, 1.1 is 10 % fast, 10 is broken. */
    readonly rate: number;
}

export const TRUE_TIME: ClockSkew = { offsetMs: 0, rate: 1 };

/** A process's clock, skewed from the machine's from now on. */
export class SkewedClock implements Clock {
    private readonly wallBase = Date.now();
    private readonly monotonicBase = performance.now();

    constructor(readonly skew: ClockSkew) {
        if (!(skew.rate > 0) || !Number.isFinite(skew.offsetMs)) {
            throw new Error(`clock skew ${JSON.stringify(skew)}: expected a rate above 0 and a finite offset`);
        }
    }

    /** Wall-clock milliseconds on this process's clock. */
    wall(): number {
        return this.wallBase + this.skew.offsetMs + (Date.now() - this.wallBase) * this.skew.rate;
    }

    /** The controller's `now` is its wall clock; the agent's `now` is monotonic (AgentClock). */
    now(): number {
        return this.wall();
    }

    monotonic(): number {
        return this.monotonicBase + (performance.now() - this.monotonicBase) * this.skew.rate;
    }

    /** A wait of `ms` on this clock: `ms / rate` of real time. */
    sleep(ms: number, signal?: AbortSignal): Promise<void> {
        return sleep(Math.max(0, ms) / this.skew.rate, undefined, { signal });
    }

    /** The same clock as the agent sees it: `now` monotonic. */
    forAgent(): AgentClock {
        return { now: () => this.monotonic(), sleep: (ms, signal) => this.sleep(ms, signal) };
    }

    /** `realMs` of real time from now, as a time on this clock's wall (for a deadline the process keeps). */
    wallIn(realMs: number): number {
        return this.wall() + realMs * this.skew.rate;
    }

    /** `realMs` of real time from now, on this clock's monotonic scale. */
    monotonicIn(realMs: number): number {
        return this.monotonic() + realMs * this.skew.rate;
    }
}
