import type { DeployContext } from './context.js';
import { probeHttp, type ProbeResult } from '../health/probe.js';
import { ms, upstreamTimeouts } from './instances.js';

/** Points the environment at these instances of a release: one routing-table change in the router. */
export async function routeTo(ctx: DeployContext, instanceIds: string[], release: string | null): Promise<void> {
  await ctx.deps.router.setRoute({ env: ctx.request.env, port: ctx.config.port, release: instanceIds.length ? release : null, upstreams: instanceIds, timeouts: upstreamTimeouts(ctx.config) });
}

/** One health probe of the environment through the router's port, as the watch window and the final check make them. */
export function probeThroughRouter(ctx: DeployContext): Promise<ProbeResult> {
  const health = ctx.config.health;
  return probeHttp(ctx.config.port, health.path, ms(health.timeout));
}
