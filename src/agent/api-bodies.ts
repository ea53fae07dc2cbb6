import { z } from '../util/zod.js';

/**
 * The bodies the agent's API takes, checked before any handler sees them: a field of the wrong type, a missing
 * one or one the route does not know is a 400 that names it (a typo such as `enviroment` is not ignored).
 */
const name = z.string().min(1).max(200);
const secrets = z.record(z.string(), z.string());

/** POST /api/deployments. A promotion is not one of these: it comes through /api/promotions, after its smoke checks. */
export const DeploymentBody = z.strictObject({
  env: name,
  ref: z.string().min(1).max(1000).optional(),
  secrets: secrets.optional(),
  /** `serving`: the secret values of the release the environment serves (the dashboard has no shell to read them from). */
  secretsFrom: z.literal('serving').optional(),
});

/** POST /api/rollbacks: to the named release, or else the last good one before what serves. */
export const RollbackBody = z.strictObject({ env: name, to: name.optional(), secrets: secrets.optional() });

/** What starts a deployment inside the agent: a deploy's or rollback's body, and for a promotion the source release its checks found. */
export type DeploymentRequest = z.infer<typeof DeploymentBody> & { to?: string; promoteFrom?: string };

/** POST /api/promotions: the agent runs the smoke checks on `from`, then deploys its commit to `to`. */
export const PromotionBody = z.strictObject({ from: name, to: name, secrets: secrets.optional(), secretsFrom: z.literal('serving').optional() });

export const SessionBody = z.strictObject({ token: z.string().max(1000) });
export const RotateBody = z.strictObject({ role: z.enum(['admin', 'read']).default('admin') });
export const TlsCheckBody = z.strictObject({ env: name.optional(), renew: z.boolean().optional() });
export const ShutdownBody = z.strictObject({ stopRouter: z.boolean().default(true) });
export const IncidentBody = z.strictObject({ env: name, deploymentId: z.number().int().positive().optional(), title: z.string().min(1).max(500).optional() });

/** Alertmanager's webhook: only what ferry reads is checked; the rest of Alertmanager's payload passes. */
export const AlertmanagerBody = z.looseObject({
  alerts: z
    .array(z.looseObject({ status: z.string().optional(), fingerprint: z.string().optional(), labels: z.record(z.string(), z.string()).optional(), annotations: z.record(z.string(), z.string()).optional() }))
    .default([]),
});
export type AlertmanagerBody = z.infer<typeof AlertmanagerBody>;
