import { switchBack } from '../restore-previous.js';
import { routeTo } from '../routing.js';
import type { Step } from '../step.js';

/** One routing-table change: new requests go to the new release; in-flight ones finish where they started. */
export const switchTraffic: Step = {
  name: 'switch',
  async run(ctx) {
    ctx.trafficMoved = true;
    await routeTo(ctx, ctx.newSpecs.map((s) => s.id), ctx.release!.id);
    ctx.timings.healthyToSwitchMs = Date.now() - (ctx.healthyAt ?? Date.now());
    ctx.deps.store.recordEvent(ctx.request.env, ctx.deploymentId, 'switched', { from: ctx.previous.release, to: ctx.release!.id });
    return `:${ctx.config.port} → ${ctx.release!.id} (${ctx.timings.healthyToSwitchMs}ms after healthy)`;
  },
  undo: (ctx) => switchBack(ctx),
};
