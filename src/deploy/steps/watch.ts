import { watchWindow } from '../../health/gate.js';
import { describeProbe } from '../../health/probe.js';
import { ms } from '../instances.js';
import { probeThroughRouter } from '../routing.js';
import { StepFailure, type Step } from '../step.js';

/** Probes through the router for `watch`; `unhealthy_threshold` failures in a row fail it (and the switch is undone at once). */
export const watch: Step = {
  name: 'watch',
  async run(ctx) {
    const health = ctx.config.health;
    const verdict = await watchWindow({
      probe: () => probeThroughRouter(ctx),
      intervalMs: ms(health.interval),
      windowMs: ms(ctx.config.watch),
      unhealthyThreshold: health.unhealthy_threshold,
      onProbe: (probe) => !probe.ok && ctx.progress(`through the router ${describeProbe(probe)}`),
    });
    if (!verdict.healthy) {
      ctx.watchFailedAt = verdict.firstFailureAt;
      throw new StepFailure(`${ctx.release!.id} turned unhealthy after the switch: ${verdict.reason}`, ctx.newSpecs[0]?.id, verdict.probes);
    }
    return `${verdict.probes.length} probes through :${ctx.config.port}, all healthy for ${ctx.config.watch}`;
  },
};
