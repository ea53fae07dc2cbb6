import { sleep } from '../util/sleep.js';
import type { ProbeResult } from './probe.js';

export interface GateOptions {
  probe: () => Promise<ProbeResult>;
  intervalMs: number;
  healthyThreshold: number;
  deadlineMs: number;
  /** Stops early when the instance is known to be gone (it exited). */
  isGone?: () => Promise<string | undefined>;
  onProbe?: (probe: ProbeResult) => void;
}

export interface GateVerdict {
  healthy: boolean;
  probes: ProbeResult[];
  reason: string;
  elapsedMs: number;
}

/** Healthy after healthyThreshold consecutive passes before the deadline. */
export async function healthGate(options: GateOptions): Promise<GateVerdict> {
  const startedAt = Date.now();
  const probes: ProbeResult[] = [];
  let consecutive = 0;
  while (Date.now() - startedAt < options.deadlineMs) {
    const probe = await options.probe();
    probes.push(probe);
    options.onProbe?.(probe);
    consecutive = probe.ok ? consecutive + 1 : 0;
    if (consecutive >= options.healthyThreshold) {
      return { healthy: true, probes, reason: `${consecutive} consecutive passes`, elapsedMs: Date.now() - startedAt };
    }
    const gone = await options.isGone?.();
    if (gone) return { healthy: false, probes, reason: gone, elapsedMs: Date.now() - startedAt };
    await sleep(Math.min(options.intervalMs, Math.max(0, options.deadlineMs - (Date.now() - startedAt))));
  }
  return { healthy: false, probes, reason: `not ${options.healthyThreshold} consecutive passes within ${options.deadlineMs}ms`, elapsedMs: Date.now() - startedAt };
}

export interface WatchOptions {
  probe: () => Promise<ProbeResult>;
  intervalMs: number;
  windowMs: number;
  unhealthyThreshold: number;
  onProbe?: (probe: ProbeResult) => void;
}

/** Probes for windowMs; fails as soon as unhealthyThreshold consecutive probes fail. */
export async function watchWindow(options: WatchOptions): Promise<GateVerdict & { firstFailureAt?: number }> {
  const startedAt = Date.now();
  const probes: ProbeResult[] = [];
  let consecutive = 0;
  let firstFailureAt: number | undefined;
  while (Date.now() - startedAt < options.windowMs) {
    const probe = await options.probe();
    probes.push(probe);
    options.onProbe?.(probe);
    if (probe.ok) {
      consecutive = 0;
      firstFailureAt = undefined;
    } else {
      consecutive++;
      firstFailureAt ??= probe.at + probe.ms;
      if (consecutive >= options.unhealthyThreshold) {
        return { healthy: false, probes, reason: `${consecutive} consecutive failed probes in the watch window`, elapsedMs: Date.now() - startedAt, firstFailureAt };
      }
    }
    await sleep(Math.min(options.intervalMs, Math.max(0, options.windowMs - (Date.now() - startedAt))));
  }
  return { healthy: true, probes, reason: `healthy for ${options.windowMs}ms`, elapsedMs: Date.now() - startedAt };
}
