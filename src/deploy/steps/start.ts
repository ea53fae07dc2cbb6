import { releaseTarget } from '../context.js';
import { instanceSpecs, startInstances, stopInstances } from '../instances.js';
import type { Step } from '../step.js';
import { snapshotData } from '../shared-writes.js';

/** `replicas` new instances of the release, on fresh loopback ports, beside the ones serving. */
export const start: Step = {
  name: 'start',
  async run(ctx) {
    // Old and new will both run until the drain: note the data folders' files to tell whether anything wrote there meanwhile.
    if (ctx.plan.includes('drain') && ctx.previous.instanceIds.length > 0 && ctx.runtime.dataDirs) {
      const dirs = await ctx.runtime.dataDirs(releaseTarget(ctx), ctx.deps.paths.shared(ctx.request.env)).catch(() => []);
      if (dirs.length) ctx.dataBefore = { dirs, snapshot: snapshotData(dirs) };
    }
    ctx.newSpecs = await instanceSpecs({ env: ctx.request.env, release: ctx.release!, tag: `d${ctx.deploymentId}`, config: ctx.config, paths: ctx.deps.paths });
    await startInstances(ctx.runtime, ctx.newSpecs, releaseTarget(ctx));
    return ctx.newSpecs.map((s) => `${s.id} on :${s.port}`).join(', ');
  },
  async undo(ctx) {
    const ids = ctx.newSpecs.map((s) => s.id);
    const stopped = await stopInstances(ctx.deps, ids, ctx.config, (message) => ctx.progress(message));
    // A container that never served is removed: left exited, it would hold its named volumes and clutter `docker ps -a`.
    // Its last lines were printed with the failure; a process instance's log file stays in the release's folder.
    if (ctx.config.runtime !== 'process') for (const id of ids) await ctx.runtime.remove(id);
    return stopped.length ? `stopped ${stopped.join('; ')}${ctx.config.runtime !== 'process' ? ' and removed' : ''}` : 'nothing had started';
  },
};
