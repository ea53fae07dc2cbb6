import { notify as send } from '../../notify/notify.js';
import { webhookSigningSecret } from '../../config/schema.js';
import type { Step } from '../step.js';

/** Webhook and Slack, retried with backoff; an unreachable notifier never fails a deploy. */
export const notify: Step = {
  name: 'notify',
  async run(ctx) {
    const target = ctx.config.notify;
    if (!target.webhook && !target.slack) return 'no notifier configured';
    // The webhook's secret came with this request from the deploying shell; the agent keeps none. Without it
    // (a deploy or rollback from the dashboard) the webhook is not sent: never unsigned when a signature is promised.
    const signing = webhookSigningSecret(target);
    const webhookSecret = signing ? ctx.request.secrets[signing] : undefined;
    const unsigned = signing !== undefined && webhookSecret === undefined;
    if (unsigned) ctx.warn(`the webhook was not sent: ${signing} (notify.webhook_secret_env, its signing secret) was not given to this ${ctx.request.kind}, and ferry never sends it unsigned. Deploy from a shell that exports it to have it sent.`);
    const deliveries = await send(
      {
        app: ctx.request.config.app,
        env: ctx.request.env,
        outcome: ctx.outcome!,
        kind: ctx.request.kind,
        deploymentId: ctx.deploymentId,
        release: ctx.release?.id ?? null,
        commit: ctx.release?.commit ?? null,
        previousRelease: ctx.previous.release,
        failedStep: ctx.failure?.step,
        error: ctx.failure?.message,
        ...(ctx.analysis ? { analysis: ctx.analysis } : {}),
        durationMs: Date.now() - ctx.startedAt,
        at: new Date().toISOString(),
      },
      {
        webhookUrl: unsigned ? undefined : target.webhook,
        webhookSecret,
        slackUrl: target.slack,
        firstBackoffMs: ctx.deps.notifyBackoffMs,
      },
    );
    for (const d of deliveries) if (!d.delivered) ctx.progress(`${d.target} notification not delivered after ${d.attempts} attempts: ${d.error}`);
    return [...(unsigned ? ['webhook not sent (no signing secret)'] : []), ...deliveries.map((d) => `${d.target} ${d.delivered ? 'delivered' : 'not delivered'} (${d.attempts} attempt${d.attempts === 1 ? '' : 's'})`)].join('; ');
  },
};
