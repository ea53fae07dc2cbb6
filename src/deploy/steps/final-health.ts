import { healthGate } from '../../health/gate.js';
import { probeHttp } from '../../health/probe.js';
import { ms } from '../instances.js';
import { StepFailure, type Step } from '../step.js';

/** One passing probe through the router, within the health deadline. */
export const finalHealth: Step = {
  name: 'final-health',
  async run(ctx) {
    const health = ctx.config.health;
    const verdict = await healthGate({
      probe: () => probeHttp(ctx.config.port, health.path, ms(health.timeout)),
      intervalMs: ms(health.interval),
      healthyThreshold: 1,
      deadlineMs: ms(health.deadline),
    });
    if (!verdict.healthy) throw new StepFailure(`final health check through :${ctx.config.port} failed: ${verdict.reason}`, ctx.newSpecs[0]?.id, verdict.probes);
    return `healthy through :${ctx.config.port}`;
  },
};
