import { existsSync } from 'node:fs';
import type { EnvironmentConfig } from '../config/schema.js';
import { releaseTarget, type DeployContext } from './context.js';
import { gateInstances, instanceSpecs, startInstances } from './instances.js';
import { routeTo } from './routing.js';
import { servingFrom } from './serving.js';

/** The settings a release was made with (kept in the store as JSON). */
export function snapshotConfig(ctx: DeployContext, releaseId: string): EnvironmentConfig {
  return JSON.parse(ctx.deps.store.releaseConfigJson(releaseId)!) as EnvironmentConfig;
}

/** Routes back to the previous release: to its instances if they still run (the warm blue-green case), else started afresh. */
export async function switchBack(ctx: DeployContext): Promise<string> {
  const snapshot = await ctx.deps.router.state();
  const warm = ctx.previous.instanceIds.filter((id) => snapshot.instances[id]?.state === 'running');
  let said: string;
  if (warm.length > 0) {
    await routeTo(ctx, warm, ctx.previous.release);
    said = `switched back to ${ctx.previous.release} (${warm.join(', ')})`;
  } else said = await restorePrevious(ctx);
  if (ctx.watchFailedAt && (await previousServes(ctx))) ctx.timings.failureToRestoredMs = Date.now() - ctx.watchFailedAt;
  return said;
}

/** Starts the previous release afresh from its directory (its own config and .env), gates it, routes to it. */
export async function restorePrevious(ctx: DeployContext): Promise<string> {
  const { store, paths } = ctx.deps;
  const previous = ctx.previous.release ? store.release(ctx.previous.release) : undefined;
  if (!previous || !existsSync(previous.dir)) {
    await routeTo(ctx, [], null);
    throw new Error(previous ? `cannot restore ${previous.id}: its directory is gone` : 'nothing served before this deployment; nothing to restore');
  }
  const config = snapshotConfig(ctx, previous.id);
  const runtime = ctx.deps.runtimes.get(config.runtime);
  const specs = await instanceSpecs({ env: ctx.request.env, release: previous, tag: `d${ctx.deploymentId}`, config, paths });
  ctx.progress(`restoring ${previous.id}: ${specs.map((s) => s.id).join(', ')}`);
  await startInstances(runtime, specs, releaseTarget(ctx, previous, config));
  const verdicts = await gateInstances(runtime, specs, config);
  const failed = verdicts.find((v) => !v.healthy);
  if (failed) throw new Error(`${previous.id} did not become healthy again (${failed.instanceId}: ${failed.reason}); nothing healthy is serving`);
  for (const spec of specs) await runtime.keepRunning?.(spec.id);
  await routeTo(ctx, specs.map((s) => s.id), previous.id);
  return `${previous.id} started again (${specs.map((s) => s.id).join(', ')}) and serving`;
}

/** The truth, from the router: does the release that served before this deployment serve again? */
export async function previousServes(ctx: DeployContext): Promise<boolean> {
  if (!ctx.previous.release) return false;
  const snapshot = await ctx.deps.router.state();
  const now = servingFrom(snapshot, ctx.request.env);
  return now.release === ctx.previous.release && now.instanceIds.some((id) => snapshot.instances[id]?.state === 'running');
}
