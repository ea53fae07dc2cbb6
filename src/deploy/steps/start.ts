import { releaseTarget } from '../context.js';
import { instanceSpecs, startInstances, stopInstances } from '../instances.js';
import type { Step } from '../step.js';

/** `replicas` new instances of the release, on fresh loopback ports, beside the ones serving. */
export const start: Step = {
  name: 'start',
  async run(ctx) {
    ctx.newSpecs = await instanceSpecs({ env: ctx.request.env, release: ctx.release!, tag: `d${ctx.deploymentId}`, config: ctx.config, paths: ctx.deps.paths });
    await startInstances(ctx.runtime, ctx.newSpecs, releaseTarget(ctx));
    return ctx.newSpecs.map((s) => `${s.id} on :${s.port}`).join(', ');
  },
  async undo(ctx) {
    const stopped = await stopInstances(ctx.deps, ctx.newSpecs.map((s) => s.id), ctx.config, (message) => ctx.progress(message));
    return stopped.length ? `stopped ${stopped.join('; ')}` : 'nothing had started';
  },
};
