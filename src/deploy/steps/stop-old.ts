import { restorePrevious } from '../restore-previous.js';
import { stopInstances } from '../instances.js';
import type { Step } from '../step.js';

/** recreate: the old release stops before the new one starts (fast, not zero-downtime; the router holds requests meanwhile). */
export const stopOld: Step = {
  name: 'stop-old',
  async run(ctx) {
    ctx.trafficMoved = true;
    const results = await stopInstances(ctx.deps, ctx.previous.instanceIds, ctx.config, (message) => ctx.progress(message));
    return `stopped ${results.join('; ')}`;
  },
  undo: (ctx) => restorePrevious(ctx),
};
