import { z } from '../util/zod.js';
import type { InstanceSpec, RouteTls, UpstreamTimeouts } from './state.js';

/**
 * What the router's control socket takes, checked before the router acts on it: a port that is not a port, an
 * upstream list that is not a list of ids, a certificate without files is a 400 naming the field, never a
 * routing table the proxy workers choke on.
 */
const port = z.number().int().min(1).max(65_535);
const id = z.string().min(1).max(200).regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, 'letters, digits and _ . : - only');
const ms = z.number().int().min(0);

const timeouts = z.strictObject({ connectMs: ms, responseHeaderMs: ms }) satisfies z.ZodType<UpstreamTimeouts>;

const tls = z.strictObject({
  port,
  certificates: z.array(z.strictObject({ domains: z.array(z.string().min(1)).min(1), certFile: z.string().min(1), keyFile: z.string().min(1), version: z.string().optional() })),
  redirect: z.boolean(),
  challenges: z.record(z.string(), z.string()).optional(),
}) satisfies z.ZodType<RouteTls>;

/** PUT /routes/:env */
export const SetRouteMessage = z.strictObject({ port, release: id.nullable().optional(), upstreams: z.array(id), timeouts: timeouts.optional() });

/** PUT /tls/:env (null removes the environment's HTTPS) */
export const SetTlsMessage = z.strictObject({ port, tls: tls.nullable().default(null) });

/** POST /instances and /upstreams */
export const InstanceMessage = z.strictObject({
  id,
  env: id,
  release: id,
  port,
  host: z.string().min(1).optional(),
  cwd: z.string().min(1),
  command: z.string(),
  envFile: z.string().min(1).optional(),
  vars: z.record(z.string(), z.string()),
  logFile: z.string().min(1),
  runtime: z.enum(['process', 'docker', 'swarm']).optional(),
  container: z.strictObject({ id: z.string(), image: z.string() }).optional(),
  health: z.strictObject({ path: z.string().min(1), intervalMs: ms, timeoutMs: ms, healthyThreshold: z.number().int().min(1), deadlineMs: ms }).optional(),
  user: z.strictObject({ name: z.string().min(1), uid: z.number().int().min(0), gid: z.number().int().min(0), home: z.string() }).optional(),
}) satisfies z.ZodType<InstanceSpec>;

/** POST /instances/:id/stop */
export const StopInstanceMessage = z.strictObject({ drainTimeoutMs: ms.default(0), graceMs: ms.default(10_000) });
export const RequestCountingMessage = z.strictObject({ enabled: z.boolean().default(true) });
export const HandoverMessageBody = z.strictObject({ entry: z.string().min(1), execPath: z.string().min(1), workers: z.number().int().min(0).max(256).optional() });
export const ShutdownMessage = z.strictObject({ stopInstances: z.boolean().default(true) });
