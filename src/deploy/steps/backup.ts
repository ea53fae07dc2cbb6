import { backupRelease } from '../release-files.js';
import type { Step } from '../step.js';

/** Copies the serving release's ferry.yml, .env, manifest and route to backups/<env>/d<deployment>/. */
export const backup: Step = {
  name: 'backup',
  async run(ctx) {
    const { store, paths, router } = ctx.deps;
    const previous = ctx.previous.release ? store.release(ctx.previous.release) : undefined;
    if (!previous) return 'nothing is serving; nothing to back up';
    const route = (await router.state()).routes[ctx.request.env] ?? null;
    const files = backupRelease(previous.dir, paths.backup(ctx.request.env, ctx.deploymentId), route);
    return `${previous.id}: ${files.join(', ')} → backups/${ctx.request.env}/d${ctx.deploymentId}`;
  },
};
