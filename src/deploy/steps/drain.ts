import { stopInstances } from '../instances.js';
import type { Step } from '../step.js';

/** The old release's in-flight requests finish (up to `drain`), then SIGTERM, then SIGKILL after `stop_grace`. */
export const drain: Step = {
  name: 'drain',
  async run(ctx) {
    return (await stopInstances(ctx.deps, ctx.previous.instanceIds, ctx.config, (message) => ctx.progress(message))).join('; ');
  },
};
