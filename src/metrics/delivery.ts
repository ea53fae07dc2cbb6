import { run } from '../util/run.js';
import type { DeliveryStore, DeploymentFact } from '../store/delivery.js';
import { computeDora, type DoraInput, type DoraReport } from './dora.js';

/**
 * The author times of the commits each deploy brought to the environment: those reachable from its commit and
 * not from the commit that served before it (`git log <before>..<commit>`; squash merges are one commit, a
 * merge brings the commits of its branch). The first deploy brings its own commit. Undefined where git cannot
 * tell (not a repository, a commit no longer there).
 */
export async function commitTimesByDeploy(projectDir: string, facts: DeploymentFact[]): Promise<Map<number, number[] | undefined>> {
  const times = new Map<number, number[] | undefined>();
  let serving: string | null = null;
  for (const fact of [...facts].filter((f) => f.switchedAt !== null).sort((a, b) => a.switchedAt! - b.switchedAt!)) {
    if (fact.kind === 'deploy' && fact.outcome === 'succeeded' && fact.commit) {
      const range = serving && serving !== fact.commit ? [`${serving}..${fact.commit}`] : ['-1', fact.commit];
      const log = await run('git', ['log', '--format=%at', ...range, '--'], { cwd: projectDir, timeoutMs: 30_000 });
      times.set(fact.id, log.exitCode === 0 ? log.stdout.split('\n').filter(Boolean).map((s) => Number(s) * 1000) : undefined);
    }
    if (fact.outcome === 'succeeded' && fact.commit) serving = fact.commit;
  }
  return times;
}

/** DORA's four keys of one environment over [since, until), from the store and git. */
export async function deliveryMetrics(store: DeliveryStore, projectDir: string, env: string, window: { since: number; until: number }): Promise<DoraReport> {
  return computeDora({ ...(await doraHistory(store, projectDir, env)), window });
}

/** What DORA's keys are computed from, for any window: the deployments, the incidents, and the commit times (git read once). */
async function doraHistory(store: DeliveryStore, projectDir: string, env: string): Promise<Omit<DoraInput, 'window'>> {
  const deployments = store.deploymentFacts(env);
  const times = await commitTimesByDeploy(projectDir, deployments);
  return { deployments, incidents: store.incidents({ env }), commitTimes: (d) => times.get(d.id) };
}

/** One period of a trend: each key's value, or null where the period has no data (drawn as a gap, never as 0). */
export interface DoraTrendPoint {
  since: number;
  until: number;
  deploymentsPerDay: number | null;
  leadTimeMs: number | null;
  changeFailureRate: number | null;
  recoveryTimeMs: number | null;
}

/** DORA's four keys over `buckets` equal periods of the window, oldest first (git is read once). */
export async function deliveryTrend(store: DeliveryStore, projectDir: string, env: string, window: { since: number; until: number }, buckets: number): Promise<DoraTrendPoint[]> {
  const history = await doraHistory(store, projectDir, env);
  const span = (window.until - window.since) / buckets;
  const valueOf = (measured: { value: number } | { noData: string }) => ('value' in measured ? measured.value : null);
  return Array.from({ length: buckets }, (_, index) => {
    const since = window.since + index * span;
    const until = since + span;
    const report = computeDora({ ...history, window: { since, until } });
    return {
      since,
      until,
      deploymentsPerDay: valueOf(report.deploymentFrequency),
      leadTimeMs: valueOf(report.leadTime),
      changeFailureRate: valueOf(report.changeFailureRate),
      recoveryTimeMs: valueOf(report.recoveryTime),
    };
  });
}
