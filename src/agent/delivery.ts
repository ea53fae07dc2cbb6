import { environmentNamed, environmentOf } from '../config/load.js';
import type { FerryConfig } from '../config/schema.js';
import { servingOf } from '../deploy/serving.js';
import { deliveryMetrics, deliveryTrend } from '../metrics/delivery.js';
import { sampleHost } from '../metrics/host.js';
import { redFromSamples } from '../metrics/red.js';
import { trafficHistory } from '../metrics/traffic-history.js';
import { TrafficStore } from '../store/traffic.js';
import { DEFAULT_TRAFFIC_SAMPLE_MS } from './traffic-sampler.js';
import type { RouterClient } from '../router/client.js';
import { DeliveryStore, type IncidentRecord } from '../store/delivery.js';
import type { Store } from '../store/store.js';
import { parseDurationMs } from '../util/duration.js';
import { FerryError, usageError } from '../util/errors.js';
import { sendJson } from '../util/json-http.js';
import { AlertmanagerBody, IncidentBody } from './api-bodies.js';
import { countParam, queryEnv, route, type Route } from './routes.js';

export interface DeliveryDeps {
  store: Store;
  router: RouterClient;
  projectDir: string;
  /** ferry.yml as it is now (see AgentServerDeps.config). */
  config: () => FerryConfig;
  sampleTraffic?: () => Promise<void>;
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
async function alertmanager(deps: DeliveryDeps, delivery: DeliveryStore, body: AlertmanagerBody) {
  const config = deps.config();
  const results: Array<{ fingerprint: string; action: 'opened' | 'already open' | 'closed' | 'ignored'; incident?: number; reason?: string }> = [];
  for (const alert of body.alerts) {
    const fingerprint = alert.fingerprint ?? JSON.stringify(alert.labels ?? {});
    const key = `alertmanager:${fingerprint}`;
    if (alert.status === 'resolved') {
      const open = delivery.openByKey(key);
      if (open) delivery.closeIncident(open.id);
      results.push({ fingerprint, action: open ? 'closed' : 'ignored', incident: open?.id, reason: open ? undefined : 'no open incident for it' });
      continue;
    }
    const env = alert.labels?.environment ?? alert.labels?.env;
    if (!env || !environmentNamed(config, env)) {
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

/** `/api/metrics`, `/api/metrics/trend`, `/api/metrics/traffic`, `/api/incidents` and `/api/alertmanager`. */
export function deliveryRoutes(deps: DeliveryDeps): Route[] {
  const delivery = new DeliveryStore(deps.store.db);
  return [
    route({
      method: 'GET',
      path: '/api/metrics',
      auth: 'read',
      async handle({ res, url }) {
        const env = queryEnv(deps.config, url, 'production');
        // The requests since the last sample are stored first: the figures are the stored samples of the period,
        // which outlive the router's counters (they restart with the router).
        await deps.sampleTraffic?.().catch(() => undefined);
        const window = windowOf(url);
        const [dora, host] = await Promise.all([deliveryMetrics(delivery, deps.projectDir, env, window), sampleHost()]);
        const probes = delivery.probes(env, window.since, window.until);
        const uptime = probes.total ? { value: probes.ok / probes.total, probes: probes.total, healthy: probes.ok } : { noData: `the agent has not probed ${env} in the period (it probes only while something serves)` };
        const samples = new TrafficStore(deps.store.db).samples(env, window.since, window.until + 1);
        const releases = redFromSamples(samples);
        sendJson(res, 200, { env, since: window.since, until: window.until, period: window.label, ...dora, uptime, requestsSince: samples[0] ? samples[0].at - samples[0].seconds * 1000 : null, releases, host });
      },
    }),
    route({
      method: 'GET',
      path: '/api/metrics/trend',
      auth: 'read',
      async handle({ res, url }) {
        const env = queryEnv(deps.config, url, 'production');
        const window = windowOf(url);
        const buckets = countParam(url, 'buckets', 12, 90);
        sendJson(res, 200, { env, since: window.since, until: window.until, period: window.label, points: await deliveryTrend(delivery, deps.projectDir, env, window, buckets) });
      },
    }),
    route({
      method: 'GET',
      path: '/api/metrics/traffic',
      auth: 'read',
      handle({ res, url }) {
        const env = url.searchParams.get('env') ?? 'production';
        const config = deps.config();
        environmentOf(config, env);
        const window = windowOf(url, '1h');
        const points = countParam(url, 'points', 120, 1000);
        // No step finer than the agent samples: a finer one would draw a gap between every two samples.
        const sampleMs = parseDurationMs(config.agent.traffic_sample_interval) ?? DEFAULT_TRAFFIC_SAMPLE_MS;
        const stepMs = Math.max(sampleMs, Math.ceil((window.until - window.since) / points / 1000) * 1000);
        // Periods on whole steps: the same sample stays in the same period from one reading to the next.
        const aligned = { since: Math.floor(window.since / stepMs) * stepMs, until: window.until };
        const history = trafficHistory(new TrafficStore(deps.store.db).samples(env, aligned.since, aligned.until), aligned, stepMs);
        sendJson(res, 200, { env, since: aligned.since, until: aligned.until, period: window.label, sampleSeconds: sampleMs / 1000, ...history });
      },
    }),
    route({
      method: 'GET',
      path: '/api/incidents',
      auth: 'read',
      handle({ res, url }) {
        const env = queryEnv(deps.config, url);
        sendJson(res, 200, { incidents: delivery.incidents({ env, open: url.searchParams.get('open') === '1' }) });
      },
    }),
    route({
      method: 'POST',
      path: '/api/incidents',
      auth: 'change',
      body: IncidentBody,
      async handle({ res, body }) {
        environmentOf(deps.config(), body.env);
        const deploymentId = body.deploymentId !== undefined ? deploymentOf(deps, body.env, body.deploymentId) : await servingDeployment(deps, body.env);
        const { incident } = delivery.openIncident({ env: body.env, deploymentId, title: body.title ?? 'incident', source: 'cli' });
        sendJson(res, 201, incident);
      },
    }),
    route({
      method: 'POST',
      path: /^\/api\/incidents\/(?<id>\d+)\/close$/,
      auth: 'change',
      handle({ res, params }) {
        const incident: IncidentRecord | undefined = delivery.closeIncident(Number(params.id));
        if (!incident) throw new FerryError({ code: 'NOT_FOUND', message: `no incident ${params.id}` });
        sendJson(res, 200, incident);
      },
    }),
    route({
      method: 'POST',
      path: '/api/alertmanager',
      auth: 'change',
      body: AlertmanagerBody,
      async handle({ res, body }) {
        sendJson(res, 200, await alertmanager(deps, delivery, body));
      },
    }),
  ];
}
