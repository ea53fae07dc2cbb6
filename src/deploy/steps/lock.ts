import type { Step } from '../step.js';
import { acquireDeployLock } from '../lock.js';
import { routeTo } from '../routing.js';
import { servingOf } from '../serving.js';

/**
 * One deployment per environment: a second waits (bounded), then plans again from what serves when it
 * gets the lock. It also opens the environment's port in the router now, so that a port taken by another
 * program stops the deploy before anything starts.
 */
export const lock: Step = {
  name: 'lock',
  async run(ctx) {
    const { store, router } = ctx.deps;
    ctx.unlock = await acquireDeployLock(store, ctx.request.env, ctx.deploymentId, {
      waitTimeoutMs: ctx.deps.lockWaitTimeoutMs ?? 15 * 60_000,
      staleAfterMs: ctx.deps.lockStaleAfterMs ?? 30_000,
      heartbeatIntervalMs: 2000,
      onWait: (message) => ctx.progress(message),
    });
    ctx.previous = await servingOf(router, ctx.request.env);
    const replanned = ctx.replan();
    if (replanned.join() !== ctx.plan.join()) ctx.progress(`what serves changed while waiting; steps now: ${replanned.join(' → ')}`);
    ctx.plan = replanned;
    const route = (await router.state()).routes[ctx.request.env];
    if (route?.port !== ctx.config.port) await routeTo(ctx, ctx.previous.instanceIds, ctx.previous.release);
    return `acquired; :${ctx.config.port} is ferry's`;
  },
};
