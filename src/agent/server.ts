import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { environmentOf, loadConfig } from '../config/load.js';
import { Deployment, type OrchestratorDeps } from '../deploy/deployment.js';
import { resolveCommit } from '../deploy/source.js';
import { servingOf } from '../deploy/serving.js';
import { releaseLayout } from '../deploy/release-files.js';
import { readEnvFile } from '../router/env-file.js';
import { checkPromotion } from '../deploy/promotion.js';
import { logRequestOf, logsOf, streamLogs } from './logs.js';
import { handleDelivery } from './delivery.js';
import { ferryBuild } from '../remote/install.js';
import type { TlsManager } from '../tls/manager.js';
import { handlePipelines } from './pipelines.js';
import { createMetrics } from './metrics.js';
import { requestExposition } from './request-exposition.js';
import type { DeployEvent } from '../deploy/events.js';
import { FerryError, usageError } from '../util/errors.js';
import { readJsonBody, sendJson } from '../util/json-http.js';
import { environmentStatuses } from './status.js';
import { authenticate, checkHost, checkMayChange, checkMayRead, checkSameOrigin, SESSION_COOKIE } from './request-guard.js';
import { serveDashboardAsset } from './dashboard.js';
import { roleOfToken, sessionValue, TOKEN_ROLES, type AgentTokens, type TokenRole } from './tokens.js';
import { EventBus, StatusFeed, streamEvents } from './events.js';
import { TrafficMeter } from '../metrics/live-traffic.js';
import type { ReleaseRecord } from '../store/records.js';
import type { StateLocation } from '../state/location.js';

export interface AgentServerDeps extends OrchestratorDeps {
  /** The API's tokens as they are now, and their rotation (`ferry token --rotate`). */
  tokens: { current(): AgentTokens; rotate(role: TokenRole): AgentTokens };
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
}

/** A whole-number query parameter (1 to 10000); anything else is the caller's mistake (400), not ours. */
function countParam(url: URL, name: string, fallback: number): number {
  const value = url.searchParams.get(name);
  if (value === null) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 10_000) throw usageError('USAGE', `${name} must be a whole number from 1 to 10000 (found "${value}")`);
  return Number(value);
}

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

/** What starts a deployment: POST /api/deployments and /api/rollbacks, and a promotion after its checks. */
interface DeploymentBody {
  env?: string;
  ref?: string;
  to?: string;
  promoteFrom?: string;
  secrets?: Record<string, string>;
  /** `serving`: the secret values of the release the environment serves (the dashboard has no shell to read them from). */
  secretsFrom?: 'serving';
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
    const config = loadConfig(deps.projectDir);
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
  const startDeployment = async (req: IncomingMessage, res: ServerResponse, kind: 'deploy' | 'rollback', given?: DeploymentBody) => {
    const body = given ?? (await readJsonBody<DeploymentBody>(req));
    if (!body.env) throw usageError('USAGE', 'env is required');
    const config = loadConfig(deps.projectDir);
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
    const target = kind === 'rollback' ? await rollbackTarget(deps, body.env, body.to) : undefined;
    const promoteFrom = body.promoteFrom ? deps.store.release(body.promoteFrom) : undefined;
    if (body.promoteFrom && (!promoteFrom || promoteFrom.commit !== source?.commit)) throw usageError('PROMOTE_MISMATCH', `release ${body.promoteFrom} is not of commit ${source?.commit ?? '?'}`);
    const buffered: DeployEvent[] = [];
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

  /** Signing the dashboard in (a token in, an HttpOnly SameSite=Strict cookie out) and out. */
  const session = async (req: IncomingMessage, res: ServerResponse) => {
    const attributes = 'Path=/; HttpOnly; SameSite=Strict';
    if (req.method === 'DELETE') return void res.writeHead(204, { 'set-cookie': `${SESSION_COOKIE}=; ${attributes}; Max-Age=0` }).end();
    // Signing in from another site (login CSRF) is refused like any cross-site change.
    checkSameOrigin(req);
    const body = await readJsonBody<{ token?: string }>(req);
    const tokens = deps.tokens.current();
    const role = roleOfToken(tokens, String(body.token ?? ''));
    if (!role) throw new FerryError({ code: 'UNAUTHORIZED', message: 'wrong token', hint: '`ferry token` prints the admin token, `ferry token --read-only` the read-only one.' });
    res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': `${SESSION_COOKIE}=${sessionValue(tokens, role)}; ${attributes}; Max-Age=${30 * 24 * 3600}` });
    res.end(JSON.stringify({ role }));
  };

  return http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://agent');
    try {
      checkHost(req, deps.allowedHosts);
      // The dashboard's page and assets carry no data: what it shows comes from the API, signed in.
      if (req.method === 'GET' && serveDashboardAsset(url.pathname, res)) return;
      if (req.method === 'GET' && url.pathname === '/api/health') return sendJson(res, 200, { ok: true, pid: process.pid, build: ferryBuild() });
      if (url.pathname === '/api/session' && (req.method === 'POST' || req.method === 'DELETE')) return await session(req, res);
      const caller = authenticate(req, deps.tokens.current(), deps.paths.tokens);
      if (req.method !== 'GET' && req.method !== 'HEAD') checkMayChange(req, caller);
      else checkMayRead(url.pathname, caller);
      if (req.method === 'GET' && url.pathname === '/api/session') return sendJson(res, 200, { role: caller.role });
      if (req.method === 'POST' && url.pathname === '/api/tokens/rotate') {
        const body = await readJsonBody<{ role?: string }>(req);
        const role = TOKEN_ROLES.find((each) => each === (body.role ?? 'admin'));
        if (!role) throw usageError('USAGE', `role must be admin or read (found "${body.role}")`);
        const tokens = deps.tokens.rotate(role);
        // A new token goes back only to the CLI (bearer), never into a page.
        return sendJson(res, 200, { role, token: caller.via === 'bearer' ? tokens[role] : null });
      }
      const replaced = deps.checkDatabase();
      if (replaced) throw new FerryError({ code: 'STATE_DATABASE_REPLACED', message: `${replaced} under the running agent; it answers nothing more and stops`, hint: 'Run the command again: a new agent starts and recovers the releases from the state folder.' });
      if (req.method === 'GET' && url.pathname === '/api/status') return sendJson(res, 200, await statusOf(url.searchParams.get('env') ?? undefined));
      if (req.method === 'GET' && url.pathname === '/api/events') return await streamEvents(res, { bus, feed, heartbeatMs: 15_000 });
      if (req.method === 'GET' && url.pathname === '/api/deployments') {
        const env = url.searchParams.get('env') ?? undefined;
        if (env) environmentOf(loadConfig(deps.projectDir), env);
        return sendJson(res, 200, { deployments: deps.store.deployments({ env, limit: countParam(url, 'limit', 20) }) });
      }
      const match = /^\/api\/deployments\/(\d+)$/.exec(url.pathname);
      if (req.method === 'GET' && match) {
        const deployment = deps.store.deployment(Number(match[1]));
        if (!deployment) throw new FerryError({ code: 'NOT_FOUND', message: `no deployment ${match[1]}` });
        return sendJson(res, 200, deployment);
      }
      if (req.method === 'POST' && url.pathname === '/api/deployments') return await startDeployment(req, res, 'deploy');
      if (req.method === 'POST' && url.pathname === '/api/rollbacks') return await startDeployment(req, res, 'rollback');
      if (req.method === 'POST' && url.pathname === '/api/promotions') {
        // What `ferry promote` does, for the dashboard: the smoke checks here, then a deploy of the source's commit.
        const body = await readJsonBody<{ from?: string; to?: string; secrets?: Record<string, string>; secretsFrom?: 'serving' }>(req);
        if (!body.from || !body.to) throw usageError('USAGE', 'from and to are required');
        const config = loadConfig(deps.projectDir);
        const source = environmentOf(config, body.from);
        environmentOf(config, body.to);
        const [status] = (await statusOf(body.from)).environments;
        const { release, commit } = await checkPromotion(body.from, body.to, status, source);
        return await startDeployment(req, res, 'deploy', { env: body.to, ref: commit, promoteFrom: release, secrets: body.secrets, secretsFrom: body.secretsFrom });
      }
      if (req.method === 'GET' && url.pathname === '/api/logs') {
        const request = logRequestOf(deps.projectDir, url, (name, fallback) => countParam(url, name, fallback));
        if (url.searchParams.get('follow') === '1') return await streamLogs(deps, request, req, res);
        return sendJson(res, 200, await logsOf(deps, request));
      }
      if (req.method === 'GET' && url.pathname === '/metrics') {
        const [text, requests, snapshot] = await Promise.all([metrics.metrics(), deps.router.requests(), deps.router.state()]);
        return void res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' }).end(text + requestExposition(requests.series, snapshot.counters ?? {}, Object.keys(snapshot.routes)));
      }
      if (req.method === 'GET' && url.pathname === '/api/tls') {
        const config = loadConfig(deps.projectDir);
        const only = url.searchParams.get('env') ?? undefined;
        if (only) environmentOf(config, only);
        const envs = Object.keys(config.environments).filter((env) => !only || env === only);
        return sendJson(res, 200, { environments: envs.map((env) => deps.tls.status(env, config.environments[env])).filter(Boolean) });
      }
      if (req.method === 'POST' && url.pathname === '/api/tls/check') {
        // Checks now what the agent checks hourly: loads changed files, obtains a certificate that is due (or every one, with renew).
        const body = await readJsonBody<{ env?: string; renew?: boolean }>(req);
        const config = loadConfig(deps.projectDir);
        if (body.env) environmentOf(config, body.env);
        const envs = Object.keys(config.environments).filter((env) => (!body.env || env === body.env) && (config.environments[env].https || body.env));
        const environments = [];
        for (const env of envs) environments.push(await deps.tls.sync(env, config.environments[env], { renew: body.renew === true }));
        return sendJson(res, 200, { environments: environments.filter(Boolean) });
      }
      if (await handleDelivery(deps, req, res, url)) return;
      if (handlePipelines(deps.store.db, req, res, url, (name, fallback) => countParam(url, name, fallback))) return;
      if (req.method === 'POST' && url.pathname === '/api/shutdown') {
        const body = await readJsonBody(req);
        sendJson(res, 200, { stopping: true });
        return deps.onShutdown(body.stopRouter !== false);
      }
      throw new FerryError({ code: 'NOT_FOUND', message: `no route ${req.method} ${url.pathname}` });
    } catch (error) {
      if (res.headersSent) return void res.end();
      sendError(res, error);
    }
  });
}

