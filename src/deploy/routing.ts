import type { DeployContext } from './context.js';
import { upstreamTimeouts } from './instances.js';

/** Points the environment at these instances of a release: one routing-table change in the router. */
export async function routeTo(ctx: DeployContext, instanceIds: string[], release: string | null): Promise<void> {
  await ctx.deps.router.setRoute({ env: ctx.request.env, port: ctx.config.port, release: instanceIds.length ? release : null, upstreams: instanceIds, timeouts: upstreamTimeouts(ctx.config) });
}
