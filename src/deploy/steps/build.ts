import { buildBaseEnv } from '../../shared/process-env.js';
import { releaseTarget } from '../context.js';
import { releaseLayout } from '../release-files.js';
import type { Step } from '../step.js';
import { carrySharedData } from '../shared-carry.js';
import { runTimeWritesWarning, writtenSince } from '../run-time-writes.js';
import type { DeployContext } from '../context.js';

/**
 * What the serving release's app wrote into its own folder while it served (process runtime): the new release is a
 * fresh checkout without it, so the deploy says so, and which shared: folder would keep it.
 */
async function warnOfRunTimeWrites(ctx: DeployContext): Promise<void> {
  const serving = ctx.previous.release;
  if (!serving || serving === ctx.release!.id) return;
  const { instances } = await ctx.deps.router.state();
  const running = ctx.previous.instanceIds.flatMap((id) => (instances[id] && (instances[id].runtime ?? 'process') === 'process' ? [instances[id]] : []));
  if (!running.length) return;
  // From when it got traffic: what its start wrote before (a prestart's bundle) each release makes for itself.
  const files = writtenSince(running[0]!.cwd, Math.min(...running.map((instance) => instance.servingSince ?? instance.startedAt)));
  if (files.length) ctx.warn(runTimeWritesWarning(files, serving, ctx.release!.id));
}

/** The runtime makes the release runnable: the build command (process), or the image built or reused, and pushed (docker, swarm). */
export const build: Step = {
  name: 'build',
  async run(ctx) {
    const layout = releaseLayout(ctx.release!.dir);
    // The build sees this environment's declared secrets only (not the registry password or the database URL).
    const declared = Object.fromEntries(ctx.config.secrets.filter((name) => ctx.request.secrets[name] !== undefined).map((name) => [name, ctx.request.secrets[name]]));
    const prepared = await ctx.runtime.prepare(releaseTarget(ctx), {
      appDir: layout.app,
      buildLog: layout.buildLog,
      buildEnv: { ...buildBaseEnv(), ...ctx.config.env, ...declared, FERRY_RELEASE: ctx.release!.id, FERRY_ENV: ctx.request.env },
      reuse: ctx.request.promoteFrom,
      sourceTree: ctx.request.source?.tree,
      depsStore: ctx.deps.paths.deps,
      sharedDir: ctx.deps.paths.shared(ctx.request.env),
      stateRoot: ctx.deps.paths.root,
      timeoutMs: ctx.deps.buildTimeoutMs ?? 20 * 60_000,
      onLine: (line) => ctx.progress(line),
      onWarning: (message) => ctx.warn(message),
    });
    // A move from the process runtime to containers: the shared folders' data goes into the volumes first.
    const carried = await carrySharedData(ctx);
    // A check that cannot read the serving release (its router busy, its folder gone) says nothing; the deploy goes on.
    await warnOfRunTimeWrites(ctx).catch(() => undefined);
    return [prepared, ...carried].join('; ');
  },
};
