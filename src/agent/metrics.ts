import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { FerryConfig } from '../config/schema.js';
import { servingFrom } from '../deploy/serving.js';
import { deliveryMetrics } from '../metrics/delivery.js';
import type { DoraReport } from '../metrics/dora.js';
import type { RouterClient } from '../router/client.js';
import { DeliveryStore } from '../store/delivery.js';
import type { Store } from '../store/store.js';

export interface MetricsDeps {
  store: Store;
  router: RouterClient;
  projectDir: string;
  /** ferry.yml as it is now (see AgentServerDeps.config). */
  config: () => FerryConfig;
}

type Row = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- SQLite rows

const DURATION_BUCKETS = [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800];
const STAGE_BUCKETS = [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800];
/** How often prom-client samples the agent's event-loop delay (nodejs_eventloop_lag_*). */
const EVENT_LOOP_SAMPLE_MS = 100;
const WAIT_BUCKETS = [0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 300];
const DORA_WINDOW_MS = 30 * 24 * 3_600_000;

/**
 * The agent's `/metrics`: what ferry knows about delivery, read from the store at scrape time (so it survives
 * agent restarts and counters only grow, as rows are only added). Label values are bounded: environments,
 * kinds, outcomes, stage and step names; a release appears only on the serving-release gauge.
 */
export function createMetrics(deps: MetricsDeps): Registry {
  const registry = new Registry();
  const db = deps.store.db;
  const all = (sql: string, ...params: unknown[]) => db.prepare(sql).all(...params) as Row[];
  const seconds = (ms: number | null) => Math.max(0, (ms ?? 0) / 1000);
  const environments = () => Object.keys(deps.config().environments);

  new Counter({
    name: 'ferry_deployments_total',
    help: 'Finished deployments (deploys and rollbacks) by environment, kind and outcome.',
    labelNames: ['environment', 'kind', 'outcome'],
    registers: [registry],
    collect() {
      this.reset();
      for (const row of all(`SELECT env, kind, state, COUNT(*) AS n FROM deployments WHERE state != 'running' GROUP BY env, kind, state`)) this.inc({ environment: row.env, kind: row.kind, outcome: row.state }, row.n);
    },
  });
  new Histogram({
    name: 'ferry_deployment_duration_seconds',
    help: 'How long finished deployments took, from the lock to the last step, by environment, kind and outcome.',
    labelNames: ['environment', 'kind', 'outcome'],
    buckets: DURATION_BUCKETS,
    registers: [registry],
    collect() {
      this.reset();
      for (const row of all(`SELECT env, kind, state, started_at, finished_at FROM deployments WHERE finished_at IS NOT NULL`)) this.observe({ environment: row.env, kind: row.kind, outcome: row.state }, seconds(row.finished_at - row.started_at));
    },
  });
  new Gauge({
    name: 'ferry_deployment_in_progress',
    help: 'Deployments running now, by environment.',
    labelNames: ['environment'],
    registers: [registry],
    collect() {
      this.reset();
      for (const env of environments()) this.set({ environment: env }, 0);
      for (const row of all(`SELECT env, COUNT(*) AS n FROM deployments WHERE state = 'running' GROUP BY env`)) this.set({ environment: row.env }, row.n);
    },
  });
  new Histogram({
    name: 'ferry_step_duration_seconds',
    help: 'Deploy step durations by environment, step (lock is the wait for the environment lock) and result.',
    labelNames: ['environment', 'step', 'result'],
    buckets: WAIT_BUCKETS.concat(DURATION_BUCKETS.filter((b) => b > 300)),
    registers: [registry],
    collect() {
      this.reset();
      for (const row of all(`SELECT d.env, s.name, s.state, s.started_at, s.finished_at FROM steps s JOIN deployments d ON d.id = s.deployment_id WHERE s.phase = 'run' AND s.finished_at IS NOT NULL`)) {
        this.observe({ environment: row.env, step: row.name, result: row.state }, seconds(row.finished_at - row.started_at));
      }
    },
  });
  new Counter({
    name: 'ferry_health_checks_total',
    help: "Health gates of new releases by environment and result (the health-gate step's outcome).",
    labelNames: ['environment', 'result'],
    registers: [registry],
    collect() {
      this.reset();
      for (const row of all(`SELECT d.env, s.state, COUNT(*) AS n FROM steps s JOIN deployments d ON d.id = s.deployment_id WHERE s.name = 'health-gate' AND s.phase = 'run' AND s.state IN ('succeeded', 'failed') GROUP BY d.env, s.state`)) {
        this.inc({ environment: row.env, result: row.state === 'succeeded' ? 'healthy' : 'unhealthy' }, row.n);
      }
    },
  });
  new Counter({
    name: 'ferry_migration_runs_total',
    help: 'Migration steps of deploys by environment and result.',
    labelNames: ['environment', 'result'],
    registers: [registry],
    collect() {
      this.reset();
      for (const row of all(`SELECT d.env, s.state, COUNT(*) AS n FROM steps s JOIN deployments d ON d.id = s.deployment_id WHERE s.name = 'migrate' AND s.phase = 'run' AND s.state != 'running' GROUP BY d.env, s.state`)) this.inc({ environment: row.env, result: row.state }, row.n);
    },
  });
  new Gauge({
    name: 'ferry_serving_release_info',
    help: 'The release serving each environment (value 1).',
    labelNames: ['environment', 'release'],
    registers: [registry],
    async collect() {
      this.reset();
      const snapshot = await deps.router.state();
      for (const env of environments()) {
        const serving = servingFrom(snapshot, env).release;
        if (serving) this.set({ environment: env, release: serving }, 1);
      }
    },
  });
  new Counter({
    name: 'ferry_pipeline_runs_total',
    help: 'Finished `ferry ci` runs by outcome (unchecked: nothing failed, but something was not checked).',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      this.reset();
      for (const row of all(`SELECT outcome, COUNT(*) AS n FROM pipeline_runs WHERE outcome != 'running' GROUP BY outcome`)) this.inc({ outcome: row.outcome }, row.n);
    },
  });
  new Histogram({
    name: 'ferry_pipeline_stage_duration_seconds',
    help: 'Pipeline stage durations by stage and state (cached stages are not timed: they did no work).',
    labelNames: ['stage', 'state'],
    buckets: STAGE_BUCKETS,
    registers: [registry],
    collect() {
      this.reset();
      for (const row of all(`SELECT name, state, duration_ms FROM pipeline_stages WHERE cached = 0 AND duration_ms IS NOT NULL`)) this.observe({ stage: row.name, state: row.state }, seconds(row.duration_ms));
    },
  });
  registerDora(registry, deps, environments);
  // The agent's own process: CPU, memory, event-loop lag, handles (prom-client's default set). The lag is sampled
  // every 100 ms, not prom-client's 10: its timer woke an idle agent 100 times a second (about 1% of a core), and
  // a stall worth seeing is longer than that.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  return registry;
}

/**
 * DORA's keys over the last 30 days as gauges. A key with no data is left out (absent, not 0). They are
 * computed again only when a deployment or an incident changed (git is read then).
 */
function registerDora(registry: Registry, deps: MetricsDeps, environments: () => string[]): void {
  const delivery = new DeliveryStore(deps.store.db);
  const cache = new Map<string, { key: string; report: DoraReport }>();
  const reports = async (): Promise<Array<[string, DoraReport]>> => {
    const out: Array<[string, DoraReport]> = [];
    for (const env of environments()) {
      const state = deps.store.db
        .prepare(`SELECT (SELECT COUNT(*) || ':' || IFNULL(MAX(finished_at), 0) FROM deployments WHERE env = ?) || '/' || (SELECT COUNT(*) || ':' || IFNULL(MAX(closed_at), 0) FROM incidents WHERE env = ?) AS key`)
        .get(env, env) as { key: string };
      // The window moves: recompute at least hourly even when nothing changed.
      const key = `${state.key}@${Math.floor(Date.now() / 3_600_000)}`;
      let entry = cache.get(env);
      if (entry?.key !== key) {
        entry = { key, report: await deliveryMetrics(delivery, deps.projectDir, env, { since: Date.now() - DORA_WINDOW_MS, until: Date.now() }) };
        cache.set(env, entry);
      }
      out.push([env, entry.report]);
    }
    return out;
  };
  let pending: Promise<Array<[string, DoraReport]>> | undefined;
  const once = () => (pending ??= reports().finally(() => setTimeout(() => (pending = undefined), 0)));
  const gauge = (name: string, help: string, key: keyof DoraReport, scale = 1) =>
    new Gauge({
      name,
      help,
      labelNames: ['environment'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const [env, report] of await once()) {
          const measured = report[key];
          if ('value' in measured) this.set({ environment: env }, (measured.value as number) * scale);
        }
      },
    });
  gauge('ferry_dora_deployment_frequency_per_day', 'DORA: successful deploys that reached users, per day, over the last 30 days.', 'deploymentFrequency');
  gauge('ferry_dora_lead_time_seconds', 'DORA: median commit-to-production time over the last 30 days.', 'leadTime', 1 / 1000);
  gauge('ferry_dora_change_failure_ratio', 'DORA: share of deploys that reached users and failed, over the last 30 days.', 'changeFailureRate');
  gauge('ferry_dora_recovery_time_seconds', 'DORA: median failed-deployment recovery time over the last 30 days.', 'recoveryTime', 1 / 1000);
}
