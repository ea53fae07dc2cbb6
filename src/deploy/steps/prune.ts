import { pruneEnvironment } from '../prune.js';
import type { Step } from '../step.js';

/** Releases and backups of this environment beyond `retain` go, never the serving release or the rollback target. */
export const prune: Step = {
  name: 'prune',
  run(ctx) {
    const keep = new Set([ctx.release!.id, ...(ctx.previous.release ? [ctx.previous.release] : [])]);
    return pruneEnvironment(ctx.deps, { app: ctx.request.config.app, env: ctx.request.env, config: ctx.config }, keep);
  },
};
