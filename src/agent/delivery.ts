import type { IncomingMessage, ServerResponse } from 'node:http';
import { environmentOf, loadConfig } from '../config/load.js';
import { servingOf } from '../deploy/serving.js';
import { deliveryMetrics, deliveryTrend } from '../metrics/delivery.js';
import { sampleHost } from '../metrics/host.js';
import { redByRelease } from '../metrics/red.js';
import { trafficHistory } from '../metrics/traffic-history.js';
import { TrafficStore } from '../store/traffic.js';
import { DEFAULT_TRAFFIC_SAMPLE_MS } from './traffic-sampler.js';
import type { RouterClient } from '../router/client.js';
import { DeliveryStore, type IncidentRecord } from '../store/delivery.js';
import type { Store } from '../store/store.js';
import { parseDurationMs } from '../util/duration.js';
import { FerryError, usageError } from '../util/errors.js';
import { readJsonBody, sendJson } from '../util/json-http.js';

export interface DeliveryDeps {
  store: Store;
  router: RouterClient;
  projectDir: string;
}

/** The deployment that put what serves now in place: what an incident opened without naming one blames. */
async function servingDeployment(deps: DeliveryDeps, env: string): Promise<number> {
  const serving = (await servingOf(deps.router, env)).release;
  const deployment = serving ? deps.store.deployments({ env, limit: 200 }).find((d) => d.releaseId === serving && d.outcome === 'succeeded') : undefined;
  if (!deployment) throw usageError('USAGE', `nothing serves in ${env}, so there is no deployment to blame`, 'Name the deployment: --deployment <id> (see `ferry history`).');
  return deployment.id;
}

function deploymentOf(deps: DeliveryDeps, env: string, id: number): number {
  const deployment = deps.store.deployment(id);
  if (!deployment || deployment.env !== env) throw usageError('USAGE', `deployment ${id} is not a deployment of ${env}`, `See \`ferry history ${env}\`.`);
  return id;
}

/** The window of `since` (a duration: 30d, 2w, 12h) ending now. */
function windowOf(url: URL, fallback = '30d'): { since: number; until: number; label: string } {
  const text = url.searchParams.get('since') ?? fallback;
  const span = parseDurationMs(text);
  if (!span) throw usageError('USAGE', `since must be a duration such as 30d, 2w or 12h (found "${text}")`);
  const until = Date.now();
  return { since: until - span, until, label: text };
}

/**
 * Alertmanager's webhook: a firing alert opens an incident (once per fingerprint) in the environment its
 * `environment` label names, blaming the deployment its `ferry_deployment` label names or else the one serving;
 * a resolved alert closes it.
 */
async function alertmanager(deps: DeliveryDeps, delivery: DeliveryStore, body: { alerts?: Array<{ status?: string; fingerprint?: string; labels?: Record<string, string>; annotations?: Record<string, string> }> }) {
  const config = loadConfig(deps.projectDir);
  const results: Array<{ fingerprint: string; action: 'opened' | 'already open' | 'closed' | 'ignored'; incident?: number; reason?: string }> = [];
  for (const alert of body.alerts ?? []) {
    const fingerprint = alert.fingerprint ?? JSON.stringify(alert.labels ?? {});
    const key = `alertmanager:${fingerprint}`;
    if (alert.status === 'resolved') {
      const open = delivery.openByKey(key);
      if (open) delivery.closeIncident(open.id);
      results.push({ fingerprint, action: open ? 'closed' : 'ignored', incident: open?.id, reason: open ? undefined : 'no open incident for it' });
      continue;
    }
    const env = alert.labels?.environment ?? alert.labels?.env;
    if (!env || !config.environments[env]) {
      results.push({ fingerprint, action: 'ignored', reason: `no environment label naming one of ${Object.keys(config.environments).join(', ')}` });
      continue;
    }
    const named = alert.labels?.ferry_deployment;
    const deploymentId = named ? deploymentOf(deps, env, Number(named)) : await servingDeployment(deps, env);
    const title = alert.annotations?.summary ?? alert.labels?.alertname ?? 'alert';
    const { incident, created } = delivery.openIncident({ env, deploymentId, title, source: 'alertmanager', externalKey: key });
    results.push({ fingerprint, action: created ? 'opened' : 'already open', incident: incident.id });
  }
  return { results };
}

/** `/api/metrics`, `/api/metrics/trend`, `/api/metrics/traffic`, `/api/incidents` and `/api/alertmanager`; false when the request is none of them. */
export async function handleDelivery(deps: DeliveryDeps, req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
  const delivery = new DeliveryStore(deps.store.db);
  if (req.method === 'GET' && url.pathname === '/api/metrics') {
    const env = url.searchParams.get('env') ?? 'production';
    environmentOf(loadConfig(deps.projectDir), env);
    const window = windowOf(url);
    const [dora, requests, host] = await Promise.all([deliveryMetrics(delivery, deps.projectDir, env, window), deps.router.requests(), sampleHost()]);
    const probes = delivery.probes(env, window.since, window.until);
    const uptime = probes.total ? { value: probes.ok / probes.total, probes: probes.total, healthy: probes.ok } : { noData: `the agent has not probed ${env} in the period (it probes only while something serves)` };
    const releases = redByRelease(requests.series, env, (Date.now() - requests.since) / 1000);
    sendJson(res, 200, { env, since: window.since, until: window.until, period: window.label, ...dora, uptime, requestsSince: requests.since, releases, host });
    return true;
  }
  if (req.method === 'GET' && url.pathname === '/api/metrics/trend') {
    const env = url.searchParams.get('env') ?? 'production';
    environmentOf(loadConfig(deps.projectDir), env);
    const window = windowOf(url);
    const buckets = Number(url.searchParams.get('buckets') ?? 12);
    if (!Number.isInteger(buckets) || buckets < 1 || buckets > 90) throw usageError('USAGE', `buckets must be a whole number from 1 to 90 (found "${url.searchParams.get('buckets')}")`);
    sendJson(res, 200, { env, since: window.since, until: window.until, period: window.label, points: await deliveryTrend(delivery, deps.projectDir, env, window, buckets) });
    return true;
  }
  if (req.method === 'GET' && url.pathname === '/api/metrics/traffic') {
    const env = url.searchParams.get('env') ?? 'production';
    const config = loadConfig(deps.projectDir);
    environmentOf(config, env);
    const window = windowOf(url, '1h');
    const points = Number(url.searchParams.get('points') ?? 120);
    if (!Number.isInteger(points) || points < 1 || points > 1000) throw usageError('USAGE', `points must be a whole number from 1 to 1000 (found "${url.searchParams.get('points')}")`);
    // No step finer than the agent samples: a finer one would draw a gap between every two samples.
    const sampleMs = parseDurationMs(config.agent.traffic_sample_interval) ?? DEFAULT_TRAFFIC_SAMPLE_MS;
    const stepMs = Math.max(sampleMs, Math.ceil((window.until - window.since) / points / 1000) * 1000);
    // Periods on whole steps: the same sample stays in the same period from one reading to the next.
    const aligned = { since: Math.floor(window.since / stepMs) * stepMs, until: window.until };
    const history = trafficHistory(new TrafficStore(deps.store.db).samples(env, aligned.since, aligned.until), aligned, stepMs);
    sendJson(res, 200, { env, since: aligned.since, until: aligned.until, period: window.label, sampleSeconds: sampleMs / 1000, ...history });
    return true;
  }
  if (req.method === 'GET' && url.pathname === '/api/incidents') {
    const env = url.searchParams.get('env') ?? undefined;
    if (env) environmentOf(loadConfig(deps.projectDir), env);
    sendJson(res, 200, { incidents: delivery.incidents({ env, open: url.searchParams.get('open') === '1' }) });
    return true;
  }
  if (req.method === 'POST' && url.pathname === '/api/incidents') {
    const body = await readJsonBody<{ env?: string; deploymentId?: number; title?: string }>(req);
    if (!body.env) throw usageError('USAGE', 'env is required');
    environmentOf(loadConfig(deps.projectDir), body.env);
    const deploymentId = body.deploymentId !== undefined ? deploymentOf(deps, body.env, body.deploymentId) : await servingDeployment(deps, body.env);
    const { incident } = delivery.openIncident({ env: body.env, deploymentId, title: body.title ?? 'incident', source: 'cli' });
    sendJson(res, 201, incident);
    return true;
  }
  const close = /^\/api\/incidents\/(\d+)\/close$/.exec(url.pathname);
  if (req.method === 'POST' && close) {
    const incident: IncidentRecord | undefined = delivery.closeIncident(Number(close[1]));
    if (!incident) throw new FerryError({ code: 'NOT_FOUND', message: `no incident ${close[1]}` });
    sendJson(res, 200, incident);
    return true;
  }
  if (req.method === 'POST' && url.pathname === '/api/alertmanager') {
    sendJson(res, 200, await alertmanager(deps, delivery, await readJsonBody(req)));
    return true;
  }
  return false;
}
