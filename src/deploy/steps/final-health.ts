import { healthGate } from '../../health/gate.js';
import { ms } from '../instances.js';
import { probeThroughRouter } from '../routing.js';
import { StepFailure, type Step } from '../step.js';

/** One passing probe through the router, within the health deadline. */
export const finalHealth: Step = {
  name: 'final-health',
  async run(ctx) {
    const verdict = await healthGate({
      probe: () => probeThroughRouter(ctx),
      intervalMs: ms(ctx.config.health.interval),
      healthyThreshold: 1,
      deadlineMs: ms(ctx.config.health.deadline),
    });
    if (!verdict.healthy) throw new StepFailure(`final health check through :${ctx.config.port} failed: ${verdict.reason}`, ctx.newSpecs[0]?.id, verdict.probes);
    return `healthy through :${ctx.config.port}`;
  },
};
