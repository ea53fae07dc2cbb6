import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestProject, readAgentInfo, type TestProject } from '../../test/support/project.js';
import { prometheusAvailable, startPrometheus } from '../../test/support/prometheus.js';

if (!prometheusAvailable()) console.warn('\n**********\n* SKIPPED: the Prometheus scrape test needs Debian\'s prometheus (.ci/run installs it)\n**********\n');

const H = 3_600_000;
const D = 24 * H;
let project: TestProject;
let now: number;

/** A commit whose author (and committer) time is fixed: `msAgo` before the test started. */
function commitAt(file: string, content: string, msAgo: number): void {
  writeFileSync(join(project.dir, file), content);
  const date = new Date(now - msAgo).toISOString();
  const env = { ...process.env, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date };
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', 'add', '-A'], { cwd: project.dir, env });
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', file], { cwd: project.dir, env });
}

beforeAll(async () => {
  project = await createTestProject();
  project.writeConfig((config) => {
    config.agent = { ...config.agent, uptime_probe_interval: '250ms' };
  });
  project.commit({}, 'probe often');
  now = Date.now();
});
afterAll(() => project?.cleanup());

describe('ferry metrics and ferry incident on a real history', () => {
  it('computes the four keys from deploys, a halt, an incident and a rollback, as worked out by hand', async () => {
    // r1 ships c1 (3 days old). r2 ships c2 and c3 (2 days and 1 day old). A broken release halts before its
    // switch: it never reached users. An incident blames r2's deploy, and a rollback goes back to r1.
    commitAt('VERSION', '1\n', 3 * D);
    expect((await project.ferry(['deploy', 'production'])).code).toBe(0);
    commitAt('VERSION', '2\n', 2 * D);
    commitAt('CHANGELOG', 'c3\n', D);
    expect((await project.ferry(['deploy', 'production'])).code).toBe(0);
    commitAt('fault.json', '{"exitAtStart": true}\n', 0);
    expect((await project.ferry(['deploy', 'production'])).code).toBe(1);
    const opened = await project.ferry(['incident', 'open', 'production', '--title', 'checkout answers 500']);
    expect(opened.code, opened.stderr).toBe(0);
    expect(opened.stdout).toMatch(/^opened incident 1 in production: checkout answers 500 \(blames deployment 2; cli; opened .*, open\)$/m);
    expect((await project.ferry(['rollback', 'production'])).code).toBe(0);
    expect((await project.ferry(['incident', 'close', '1'])).code).toBe(0);

    const result = await project.ferry(['metrics', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    // Two deploys reached users (the halted one did not) and both succeeded: 2 in 30 days, medium.
    expect(report.deploymentFrequency).toMatchObject({ deploys: 2, days: 30, level: 'medium' });
    expect(report.deploymentFrequency.value).toBeCloseTo(2 / 30, 10);
    // Lead times: c1 3 days, c2 2 days, c3 1 day, each plus the seconds until its deploy switched: median 2 days, high.
    expect(report.leadTime).toMatchObject({ commits: 3, level: 'high' });
    expect(report.leadTime.value).toBeGreaterThanOrEqual(2 * D);
    expect(report.leadTime.value).toBeLessThan(2 * D + 120_000);
    // r2's deploy failed: rolled back afterwards (the incident names the same deploy; it counts once). 1 of 2.
    expect(report.changeFailureRate).toMatchObject({ value: 0.5, failed: 1, deploys: 2, level: 'low' });
    expect(report.changeFailureRate.failures).toEqual([expect.objectContaining({ deploymentId: 2, releaseId: 'r2', why: 'rolled back afterwards', restoredBy: 4 })]);
    // From r2's switch to the rollback's: seconds, elite.
    expect(report.recoveryTime).toMatchObject({ recoveries: 1, unrecovered: 0, level: 'elite' });
    expect(report.recoveryTime.value).toBeLessThan(120_000);

    const text = await project.ferry(['metrics']);
    expect(text.stdout).toMatch(/^ {2}deployment frequency {4}0\.07\/day \(2 deploys in 30\.0 days\) +medium$/m);
    expect(text.stdout).toMatch(/^ {2}change failure rate {5}50\.0% \(1 of 2 deploys\) +low$/m);
    expect(text.stdout).toMatch(/^ {4}deployment 2 \(r2\): rolled back afterwards; restored by deployment 4 after \d+ min$/m);
    // Uptime from the agent's probes through the router; rate, errors and latency per release from the router.
    expect(report.uptime.probes).toBeGreaterThan(0);
    expect(report.uptime.value).toBeGreaterThan(0.9);
    expect(report.releases.map((r: { release: string }) => r.release)).toEqual(expect.arrayContaining(['r1', 'r2']));
    for (const release of report.releases) expect(release).toMatchObject({ errorRatio: { value: 0 }, p99Seconds: { value: expect.any(Number) } });
    expect(report.host.cpuBusyRatio.value).toBeGreaterThanOrEqual(0);
    expect(report.host.memory).toMatchObject({ value: expect.any(Number), totalBytes: expect.any(Number) });
    expect(text.stdout).toMatch(/^ {2}uptime {16}\d+\.\d{3}% \(\d+ of \d+ health probes through the router\)$/m);
    expect(text.stdout).toMatch(/^ {4}r1 +\d+ requests {2}[\d.]+\/s {2}errors 0\.00% {2}p50 [\d.]+ ms {2}p95 [\d.]+ ms {2}p99 [\d.]+ ms$/m);
    expect(text.stdout).toMatch(/^ {2}cpu [\d.]+% {2}memory [\d.]+% of [\d.]+ GiB {2}disk \d+ KB\/s read, \d+ KB\/s written {2}network \d+ KB\/s in, \d+ KB\/s out$/m);
    // An environment nothing was deployed to: no data, and why, for every key (never 0).
    const none = JSON.parse((await project.ferry(['metrics', '--env', 'staging', '--json'])).stdout);
    for (const key of ['deploymentFrequency', 'leadTime', 'changeFailureRate', 'recoveryTime', 'uptime']) expect(none[key], key).toEqual({ noData: expect.any(String) });
    expect(none.releases).toEqual([]);
    expect((await project.ferry(['metrics', '--env', 'staging'])).stdout).toMatch(/^ {2}deployment frequency {4}no data: no deploy has reached this environment yet$/m);
  });

  it('the agent serves them, and the deploy log, at /metrics in Prometheus format (promtool lints it)', async () => {
    const { url, token } = readAgentInfo(project);
    expect((await fetch(`${url}/metrics`)).status).toBe(401);
    // Traffic through the router: counted per environment, release and status class, with its latency.
    for (let i = 0; i < 5; i++) expect((await fetch(`http://127.0.0.1:${project.ports.production}/`)).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await fetch(`http://127.0.0.1:${project.ports.production}/notes`, { method: 'POST', body: 'n' })).status).toBe(201);
    const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
    // promtool's linter on ferry's own families (prom-client's default process metrics have names it dislikes).
    const own = text.split('\n').filter((line) => /^(# (HELP|TYPE) )?(ferry|http)_/.test(line)).join('\n') + '\n';
    if (prometheusAvailable()) {
      const lint = spawnSync('promtool', ['check', 'metrics'], { input: own, encoding: 'utf8' });
      expect(lint.status, lint.stdout + lint.stderr).toBe(0);
    }
    expect(text).toContain('ferry_deployments_total{environment="production",kind="deploy",outcome="succeeded"} 2');
    expect(text).toContain('ferry_deployments_total{environment="production",kind="deploy",outcome="halted"} 1');
    expect(text).toContain('ferry_deployments_total{environment="production",kind="rollback",outcome="succeeded"} 1');
    expect(text).toContain('ferry_serving_release_info{environment="production",release="r1"} 1');
    expect(text).toContain('ferry_health_checks_total{environment="production",result="unhealthy"} 1');
    expect(text).toContain('ferry_dora_change_failure_ratio{environment="production"} 0.5');
    expect(text).toMatch(/^ferry_step_duration_seconds_count\{environment="production",step="lock",result="succeeded"\} 4$/m);
    // staging has no deploys: its keys are absent, never 0.
    expect(text).not.toMatch(/ferry_dora_\w+\{environment="staging"\}/);
    expect(text).toContain('ferry_deployment_in_progress{environment="staging"} 0');
    const ok = Number(/^http_requests_total\{environment="production",release="r1",code="2xx"\} (\d+)$/m.exec(text)?.[1]);
    expect(ok).toBeGreaterThanOrEqual(7); // and the deploys' own probes through the router
    expect(text).not.toMatch(/^http_requests_total\{environment="production",release="r1",code="5xx"\}/m);
    const count = Number(/^http_request_duration_seconds_count\{environment="production",release="r1"\} (\d+)$/m.exec(text)?.[1]);
    expect(count).toBe(ok);
    expect(text).toMatch(/^http_request_duration_seconds_bucket\{environment="production",release="r1",le="\+Inf"\} \d+$/m);
    expect(text).toContain('ferry_router_upstream_failures_total{environment="production",kind="timeout"} 0');
  });

  it.skipIf(!prometheusAvailable())('a real Prometheus scrapes the agent with its bearer token and reads the same values', async () => {
    const { url, token } = readAgentInfo(project);
    const prometheus = await startPrometheus([{ job: 'ferry-agent', address: new URL(url).host, token }]);
    try {
      let result: Awaited<ReturnType<typeof prometheus.query>> = [];
      for (let i = 0; i < 50 && result.length === 0; i++) {
        result = await prometheus.query('ferry_dora_change_failure_ratio{environment="production"}');
        if (!result.length) await new Promise((r) => setTimeout(r, 200));
      }
      expect(result[0]?.value[1]).toBe('0.5');
      expect((await prometheus.query('sum(ferry_deployments_total{environment="production"})'))[0].value[1]).toBe('4');
    } finally {
      await prometheus.stop();
    }
  });

  it("Alertmanager's webhook opens an incident once per alert, blaming what serves, and closes it when resolved", async () => {
    const { url, token } = readAgentInfo(project); // the agent the deploys above started
    const post = (body: unknown) => fetch(`${url}/api/alertmanager`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json());
    const firing = { alerts: [{ status: 'firing', fingerprint: 'abc123', labels: { alertname: 'HighErrorRatio', environment: 'production' }, annotations: { summary: 'error ratio above 5%' } }] };
    expect(await post(firing)).toEqual({ results: [{ fingerprint: 'abc123', action: 'opened', incident: 2 }] });
    expect(await post(firing)).toEqual({ results: [{ fingerprint: 'abc123', action: 'already open', incident: 2 }] });
    const list = JSON.parse((await project.ferry(['incident', 'list', 'production', '--json'])).stdout);
    expect(list.incidents[0]).toMatchObject({ id: 2, title: 'error ratio above 5%', source: 'alertmanager', deploymentId: 4, closedAt: null });
    expect(await post({ alerts: [{ ...firing.alerts[0], status: 'resolved' }] })).toEqual({ results: [{ fingerprint: 'abc123', action: 'closed', incident: 2 }] });
    // Without the token: refused.
    const anonymous = await fetch(`${url}/api/alertmanager`, { method: 'POST', body: JSON.stringify(firing) });
    expect(anonymous.status).toBe(401);
  });
});
