import { describeProbe } from '../../health/probe.js';
import { gateInstances } from '../instances.js';
import { StepFailure, type Step } from '../step.js';

/** `healthy_threshold` consecutive 2xx from every new instance before `deadline`; an instance that exits fails at once. */
export const healthGate: Step = {
  name: 'health-gate',
  async run(ctx) {
    const verdicts = await gateInstances(ctx.runtime, ctx.newSpecs, ctx.config, (id, probe) => ctx.progress(`${id} ${describeProbe(probe)}`));
    const failed = verdicts.find((v) => !v.healthy);
    if (failed) throw new StepFailure(`${failed.instanceId} did not become healthy: ${failed.reason}`, failed.instanceId, failed.probes);
    for (const spec of ctx.newSpecs) await ctx.runtime.keepRunning?.(spec.id);
    ctx.healthyAt = Date.now();
    return verdicts.map((v) => `${v.instanceId}: ${v.reason} in ${v.elapsedMs}ms`).join('; ');
  },
};
