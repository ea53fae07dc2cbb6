import http, { type ServerResponse } from 'node:http';
import { environmentOf } from '../config/load.js';
import { webhookSigningSecret, type FerryConfig } from '../config/schema.js';
import { Deployment, type OrchestratorDeps } from '../deploy/deployment.js';
import { resolveCommit } from '../deploy/source.js';
import { servingOf } from '../deploy/serving.js';
import { releaseLayout } from '../deploy/release-files.js';
import { readEnvFile } from '../shared/env-file.js';
import { checkPromotion } from './promotion.js';
import { logRequestOf, logsOf, streamLogs } from './logs.js';
import { deliveryRoutes } from './delivery.js';
import { ferryBuild } from '../shared/build-info.js';
import type { TlsManager } from '../tls/manager.js';
import { pipelineRoutes } from './pipelines.js';
import { createMetrics } from './metrics.js';
import { requestExposition } from './request-exposition.js';
import type { DeployEvent } from '../deploy/events.js';
import { FerryError, usageError } from '../util/errors.js';
import { readBody, sendJson } from '../util/json-http.js';
import { DeploymentBody, type DeploymentRequest, PromotionBody, RollbackBody, RotateBody, SessionBody, ShutdownBody, TlsCheckBody } from './api-bodies.js';
import { matchRoute } from '../util/route-match.js';
import { countParam, queryEnv, route, type Route } from './routes.js';
import { environmentStatuses } from './status.js';
import { authenticate, checkHost, checkMayChange, checkMayReadLogs, checkSameOrigin, cookie, SESSION_COOKIE } from './request-guard.js';
import { serveDashboardAsset } from './dashboard.js';
import { roleOfToken, type AgentTokens, type TokenRole } from './tokens.js';
import { SESSION_MAX_AGE_S, type Sessions } from './sessions.js';
import { EventBus, StatusFeed, streamEvents } from './events.js';
import { TrafficMeter } from '../metrics/live-traffic.js';
import type { ReleaseRecord } from '../store/records.js';
import type { StateLocation } from '../state/location.js';

export interface AgentServerDeps extends OrchestratorDeps {
  /**
   * ferry.yml as it is now, for the API's reads: parsed again only when the file changed (one reader, shared with
   * the agent's probes and sampler; nothing may change what it returns). One that does not load throws, as
   * loadConfig does. A deploy reads the file itself.
   */
  config: () => FerryConfig;
  /** The API's tokens as they are now, and their rotation (`ferry token --rotate`). */
  tokens: { current(): AgentTokens; rotate(role: TokenRole): AgentTokens };
  /** The dashboard's sign-ins. */
  sessions: Sessions;
  location: StateLocation;
  /** What the person should read in `ferry status` (releases recovered from disk, say). */
  notes: string[];
  /** Why the database file is no longer the one the agent opened, if it is not. */
  checkDatabase: () => string | undefined;
  /** Host names besides loopback the API answers to (agent.allowed_hosts). */
  allowedHosts: readonly string[];
  onShutdown: (stopRouter: boolean) => void;
  /** Each environment's HTTPS certificates. */
  tls: TlsManager;
  /** Stores what the router counted since the last sample (`ferry metrics` reads the stored samples). */
  sampleTraffic?: () => Promise<void>;
}

/** A whole-number query parameter (1 to 10000); anything else is the caller's mistake (400), not ours. */
function sendError(res: ServerResponse, error: unknown): void {
  const ferryError = error instanceof FerryError ? error : new FerryError({ code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) });
  sendJson(res, ferryError.httpStatus, { error: ferryError.toJSON() });
}

/** Streams a deployment's events as NDJSON; the deployment goes on if the client disconnects. */
async function streamDeployment(res: ServerResponse, deployment: Deployment, events: DeployEvent[], setEmit: (emit: (e: DeployEvent) => void) => void) {
  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
  setEmit((event) => {
    if (!res.destroyed) res.write(JSON.stringify(event) + '\n');
  });
  for (const event of events) res.write(JSON.stringify(event) + '\n');
  await deployment.run();
  res.end();
}

async function rollbackTarget(deps: AgentServerDeps, env: string, to: string | undefined): Promise<ReleaseRecord> {
  const serving = await servingOf(deps.router, env);
  if (to) {
    const release = deps.store.release(to);
    if (!release || release.env !== env) throw usageError('UNKNOWN_RELEASE', `release ${to} is not a release of ${env}`, `See \`ferry history ${env}\` for its releases.`);
    if (release.state === 'pruned') throw usageError('RELEASE_PRUNED', `release ${to} was pruned (retain keeps the newest releases only)`, 'Deploy its commit again with `ferry deploy --ref <commit>`.');
    return release;
  }
  const candidate = deps.store.lastGoodReleases(env).find((id) => id !== serving.release && deps.store.release(id)?.state !== 'pruned');
  if (!candidate) throw usageError('NO_ROLLBACK_TARGET', `${env} has no earlier good release to roll back to`, `See \`ferry history ${env}\`.`);
  return deps.store.release(candidate)!;
}

/**
 * The secret values a deploy from the dashboard uses: those of the release serving in the same environment,
 * read from its .env by the agent. They never cross to another environment, and never reach the page.
 */
async function servingSecrets(deps: AgentServerDeps, env: string, declared: string[]): Promise<Record<string, string>> {
  const serving = (await servingOf(deps.router, env)).release;
  const release = serving ? deps.store.release(serving) : undefined;
  if (!release || release.env !== env) throw usageError('SECRET_MISSING', `${env} declares secrets (${declared.join(', ')}) and serves no release whose values a deploy from the dashboard could reuse`, `Deploy from a shell with them exported: ferry deploy ${env}.`);
  const kept = readEnvFile(releaseLayout(release.dir).envFile);
  return Object.fromEntries(declared.filter((name) => kept[name] !== undefined).map((name) => [name, kept[name]]));
}

export function createAgentServer(deps: AgentServerDeps): http.Server {
  const metrics = createMetrics(deps);
  const bus = new EventBus();
  const statusOf = async (env?: string) => {
    const config = deps.config();
    if (env) environmentOf(config, env);
    return { app: config.app, state: { dir: deps.location.dir, source: deps.location.source, note: deps.location.note ?? null, notes: deps.notes }, environments: await environmentStatuses(config, deps.store, deps.router, deps.runtimes, deps.paths, env) };
  };
  // One reading of the status and one live-traffic meter for every dashboard watching.
  const meter = new TrafficMeter();
  let lastRead = 0;
  const feed = new StatusFeed(
    async () => {
      const [payload, requests] = await Promise.all([statusOf(), deps.router.requests()]);
      // Live means the last few seconds: after a while with nobody watching, start measuring again.
      if (Date.now() - lastRead > 10_000) meter.reset();
      lastRead = Date.now();
      const traffic = requests.enabled ? Object.fromEntries(meter.sample(requests.series, Date.now(), requests.since)) : {};
      return { ...payload, counting: requests.enabled, traffic };
    },
    2000,
    bus,
  );
  /** Starts a deployment and streams its events, after `before` (what was checked first). */
  const startDeployment = async (res: ServerResponse, kind: 'deploy' | 'rollback', body: DeploymentRequest, before: DeployEvent[] = []) => {
    const config = deps.config();
    environmentOf(config, body.env);
    const declared = config.environments[body.env].secrets;
    const reuse = kind === 'deploy' && body.secretsFrom === 'serving' && declared.length > 0;
    const secrets = reuse ? await servingSecrets(deps, body.env, declared) : (body.secrets ?? {});
    const source = kind === 'deploy' ? await resolveCommit(deps.projectDir, body.ref) : undefined;
    if (kind === 'deploy') {
      const missing = declared.filter((name) => secrets[name] === undefined);
      if (missing.length && reuse) throw usageError('SECRET_MISSING', `the release serving ${body.env} has no value for ${missing.join(', ')} (declared since it was deployed)`, `Deploy from a shell with ${missing.length > 1 ? 'them' : 'it'} exported: ferry deploy ${body.env}.`);
      if (missing.length) throw usageError('SECRET_MISSING', `secrets of ${body.env} not set in the deploying environment: ${missing.join(', ')}`, `export ${missing[0]}=... and deploy again; values go to the release's .env (0600) only.`);
    }
    // A deploy whose caller passes the shell's secrets (the CLI) must pass the webhook's signing secret too; the
    // dashboard, which has none to pass, and a rollback go ahead and send no webhook (the notify step says so).
    const signing = webhookSigningSecret(config.environments[body.env].notify);
    if (kind === 'deploy' && signing && body.secrets !== undefined && !body.secretsFrom && secrets[signing] === undefined) {
      throw usageError('SECRET_MISSING', `${signing} (notify.webhook_secret_env: it signs ${body.env}'s webhook) is not set in the deploying environment`, `export ${signing}=... and ${kind} again; ferry never sends a webhook unsigned.`);
    }
    const target = kind === 'rollback' ? await rollbackTarget(deps, body.env, body.to) : undefined;
    const promoteFrom = body.promoteFrom ? deps.store.release(body.promoteFrom) : undefined;
    if (body.promoteFrom && (!promoteFrom || promoteFrom.commit !== source?.commit)) throw usageError('PROMOTE_MISMATCH', `release ${body.promoteFrom} is not of commit ${source?.commit ?? '?'}`);
    const buffered: DeployEvent[] = [...before];
    let emit: (event: DeployEvent) => void = (event) => buffered.push(event);
    let deploymentId: number | null = null;
    const env = body.env;
    const deployment = new Deployment(deps, { env, kind, config, source, target, secrets, promoteFrom }, (event) => {
      if (event.type === 'deployment') deploymentId = event.deploymentId;
      bus.emit('deploy', { deploymentId, env, event });
      emit(event);
    });
    await streamDeployment(res, deployment, buffered, (next) => (emit = next));
  };

  const sessionAttributes = 'Path=/; HttpOnly; SameSite=Strict';

  /** The agent's API: method, path, who may call it, the body's schema, and what answers. */
  const routes: Route[] = [
    route({ method: 'GET', path: '/api/health', auth: 'public', withoutDatabase: true, handle: ({ res }) => sendJson(res, 200, { ok: true, pid: process.pid, build: ferryBuild() }) }),
    // Signing the dashboard in (a token in, an HttpOnly SameSite=Strict cookie out) and out.
    route({
      method: 'POST',
      path: '/api/session',
      auth: 'public',
      withoutDatabase: true,
      body: SessionBody,
      handle({ req, res, body }) {
        // Signing in from another site (login CSRF) is refused like any cross-site change.
        checkSameOrigin(req);
        const tokens = deps.tokens.current();
        const role = roleOfToken(tokens, body.token);
        if (!role) throw new FerryError({ code: 'UNAUTHORIZED', message: 'wrong token', hint: '`ferry token` prints the admin token, `ferry token --read-only` the read-only one.' });
        res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': `${SESSION_COOKIE}=${deps.sessions.open(tokens, role)}; ${sessionAttributes}; Max-Age=${SESSION_MAX_AGE_S}` });
        res.end(JSON.stringify({ role }));
      },
    }),
    // Signing out ends the session here, not only its cookie in this browser: a copy of the cookie is refused from now on.
    route({
      method: 'DELETE',
      path: '/api/session',
      auth: 'public',
      withoutDatabase: true,
      handle: ({ req, res }) => {
        const value = cookie(req, SESSION_COOKIE);
        if (value !== undefined) deps.sessions.close(value);
        res.writeHead(204, { 'set-cookie': `${SESSION_COOKIE}=; ${sessionAttributes}; Max-Age=0` }).end();
      },
    }),
    route({ method: 'GET', path: '/api/session', auth: 'read', withoutDatabase: true, handle: ({ res, caller }) => sendJson(res, 200, { role: caller!.role }) }),
    route({
      method: 'POST',
      path: '/api/tokens/rotate',
      auth: 'change',
      withoutDatabase: true,
      body: RotateBody,
      handle({ res, body, caller }) {
        const tokens = deps.tokens.rotate(body.role);
        // A new token goes back only to the CLI (bearer), never into a page.
        sendJson(res, 200, { role: body.role, token: caller!.via === 'bearer' ? tokens[body.role] : null });
      },
    }),
    route({ method: 'GET', path: '/api/status', auth: 'read', handle: async ({ res, url }) => sendJson(res, 200, await statusOf(url.searchParams.get('env') ?? undefined)) }),
    route({ method: 'GET', path: '/api/events', auth: 'read', handle: ({ res }) => streamEvents(res, { bus, feed, heartbeatMs: 15_000 }) }),
    route({
      method: 'GET',
      path: '/api/deployments',
      auth: 'read',
      handle({ res, url }) {
        const env = queryEnv(deps.config, url);
        sendJson(res, 200, { deployments: deps.store.deployments({ env, limit: countParam(url, 'limit', 20) }) });
      },
    }),
    route({
      method: 'GET',
      path: /^\/api\/deployments\/(?<id>\d+)$/,
      auth: 'read',
      handle({ res, params }) {
        const deployment = deps.store.deployment(Number(params.id));
        if (!deployment) throw new FerryError({ code: 'NOT_FOUND', message: `no deployment ${params.id}` });
        sendJson(res, 200, deployment);
      },
    }),
    route({ method: 'POST', path: '/api/deployments', auth: 'change', body: DeploymentBody, handle: ({ res, body }) => startDeployment(res, 'deploy', body) }),
    route({ method: 'POST', path: '/api/rollbacks', auth: 'change', body: RollbackBody, handle: ({ res, body }) => startDeployment(res, 'rollback', body) }),
    route({
      method: 'POST',
      path: '/api/promotions',
      auth: 'change',
      body: PromotionBody,
      async handle({ res, body }) {
        // `ferry promote`, the dashboard's promote, and a host's agent in a promote over SSH: the smoke checks here, then a deploy of the source's commit.
        const config = deps.config();
        const source = environmentOf(config, body.from);
        environmentOf(config, body.to);
        const [status] = (await statusOf(body.from)).environments;
        const { release, commit } = await checkPromotion(body.from, body.to, status, source);
        const checked: DeployEvent = { type: 'note', message: `smoke checks of ${body.from} passed: ${release} (${commit.slice(0, 12)}) healthy; promoting to ${body.to}` };
        await startDeployment(res, 'deploy', { env: body.to, ref: commit, promoteFrom: release, secrets: body.secrets, secretsFrom: body.secretsFrom }, [checked]);
      },
    }),
    route({
      method: 'GET',
      path: '/api/logs',
      auth: 'logs',
      async handle({ req, res, url }) {
        const request = logRequestOf(deps.config, url, (name, fallback) => countParam(url, name, fallback));
        if (url.searchParams.get('follow') === '1') return await streamLogs(deps, request, req, res);
        sendJson(res, 200, await logsOf(deps, request));
      },
    }),
    route({
      method: 'GET',
      path: '/metrics',
      auth: 'read',
      async handle({ res }) {
        const [text, requests, snapshot] = await Promise.all([metrics.metrics(), deps.router.requests(), deps.router.state()]);
        res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' }).end(text + requestExposition(requests.series, snapshot.counters ?? {}, Object.keys(snapshot.routes)));
      },
    }),
    route({
      method: 'GET',
      path: '/api/tls',
      auth: 'read',
      handle({ res, url }) {
        const config = deps.config();
        const only = url.searchParams.get('env') ?? undefined;
        if (only) environmentOf(config, only);
        const envs = Object.keys(config.environments).filter((env) => !only || env === only);
        sendJson(res, 200, { environments: envs.map((env) => deps.tls.status(env, config.environments[env])).filter(Boolean) });
      },
    }),
    route({
      method: 'POST',
      path: '/api/tls/check',
      auth: 'change',
      body: TlsCheckBody,
      async handle({ res, body }) {
        // Checks now what the agent checks hourly: loads changed files, obtains a certificate that is due (or every one, with renew).
        const config = deps.config();
        if (body.env) environmentOf(config, body.env);
        const envs = Object.keys(config.environments).filter((env) => (!body.env || env === body.env) && (config.environments[env].https || body.env));
        const environments = [];
        for (const env of envs) environments.push(await deps.tls.sync(env, config.environments[env], { renew: body.renew === true }));
        sendJson(res, 200, { environments: environments.filter(Boolean) });
      },
    }),
    ...deliveryRoutes(deps),
    ...pipelineRoutes(deps.store.db, countParam),
    route({
      method: 'POST',
      path: '/api/shutdown',
      auth: 'change',
      body: ShutdownBody,
      handle({ res, body }) {
        sendJson(res, 200, { stopping: true });
        deps.onShutdown(body.stopRouter);
      },
    }),
  ];

  return http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://agent');
    try {
      checkHost(req, deps.allowedHosts);
      // The dashboard's page and assets carry no data: what it shows comes from the API, signed in.
      if (req.method === 'GET' && serveDashboardAsset(url.pathname, res)) return;
      const found = matchRoute(routes, req.method ?? '', url.pathname);
      const needed = found && 'route' in found ? found.route.auth : 'read';
      // Who asks is checked before anything else is said, even that a route does not exist.
      const caller = needed === 'public' ? undefined : authenticate(req, deps.tokens.current(), deps.sessions, deps.paths.tokens);
      if (!found) throw new FerryError({ code: 'NOT_FOUND', message: `no route ${req.method} ${url.pathname}` });
      if ('allowed' in found) throw new FerryError({ code: 'METHOD_NOT_ALLOWED', message: `${url.pathname} takes ${found.allowed.join(', ')}, not ${req.method}` });
      if (needed === 'change') checkMayChange(req, caller!);
      if (needed === 'logs') checkMayReadLogs(caller!);
      if (!found.route.withoutDatabase) {
        const replaced = deps.checkDatabase();
        if (replaced) throw new FerryError({ code: 'STATE_DATABASE_REPLACED', message: `${replaced} under the running agent; it answers nothing more and stops`, hint: 'Run the command again: a new agent starts and recovers the releases from the state folder.' });
      }
      const body = found.route.body ? await readBody(req, found.route.body, `${req.method} ${url.pathname}`) : undefined;
      await found.route.handle({ req, res, url, params: found.params, caller, body });
    } catch (error) {
      if (res.headersSent) return void res.end();
      sendError(res, error);
    }
  });
}
