import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { FERRY_BIN, REPO_ROOT } from '../../test/support/project.js';
import { prometheusAvailable, startPrometheus, type TestPrometheus } from '../../test/support/prometheus.js';
import { ALERTS } from './monitoring/alerts.js';
import { freePort } from '../util/ports.js';

const tools = prometheusAvailable();
const amtool = spawnSync('sh', ['-c', 'command -v amtool']).status === 0;
const NODE_EXPORTER = '/usr/bin/prometheus-node-exporter';
const nodeExporter = existsSync(NODE_EXPORTER);
if (!nodeExporter) console.warn("\n**********\n* SKIPPED: the host dashboard against a real node-exporter needs Debian's prometheus-node-exporter (.ci/run installs it)\n**********\n");
if (!tools) console.warn("\n**********\n* SKIPPED: the monitoring files' checks need Debian's prometheus (promtool; .ci/run installs it)\n**********\n");
if (!amtool) console.warn("\n**********\n* SKIPPED: amtool check-config needs Debian's prometheus-alertmanager (.ci/run installs it)\n**********\n");

let dir: string;
let prometheus: TestPrometheus | undefined;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-monitoring-'));
  cpSync(join(REPO_ROOT, 'example'), dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ ...manifest, dependencies: { ioredis: '^5', kafkajs: '^2' } }));
});
afterAll(async () => {
  await prometheus?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const init = (args: string[] = []) => spawnSync(process.execPath, [FERRY_BIN, 'init', '--monitoring', ...args, '--project', dir], { encoding: 'utf8' });

describe('ferry init --monitoring', () => {
  it('writes Prometheus, alert rules with a test per alert, Alertmanager, Grafana and a compose file, for the stores the project uses', () => {
    const result = init();
    expect(result.status, result.stderr).toBe(0);
    for (const file of ['monitoring/prometheus.yml', 'monitoring/rules/ferry-alerts.yml', 'monitoring/rules/ferry-alerts.test.yml', 'monitoring/alertmanager.yml', 'docker-compose.monitoring.yml']) expect(result.stdout).toContain(`wrote     ${file}`);
    expect(result.stdout).toContain('exporters: redis, kafka');
    const config = parse(readFileSync(join(dir, 'monitoring/prometheus.yml'), 'utf8'));
    expect(config.global.scrape_interval).toBe('15s');
    expect(config.scrape_configs.map((j: { job_name: string }) => j.job_name)).toEqual(['app-production', 'app-staging', 'ferry-agent', 'node', 'cadvisor', 'redis', 'kafka']);
    const compose = parse(readFileSync(join(dir, 'docker-compose.monitoring.yml'), 'utf8'));
    expect(Object.keys(compose.services)).toEqual(['prometheus', 'alertmanager', 'grafana', 'node-exporter', 'cadvisor', 'redis-exporter', 'kafka-exporter']);
    expect(init().stdout).toContain('kept      monitoring/prometheus.yml (exists; --force replaces it)');
  });

  it.skipIf(!tools)('promtool: the config and the rules check, and every alert fires in its test', () => {
    writeFileSync(join(dir, 'monitoring/secrets/ferry-agent.token'), 'token');
    const config = spawnSync('promtool', ['check', 'config', join(dir, 'monitoring/prometheus.yml')], { encoding: 'utf8' });
    expect(config.status, config.stdout + config.stderr).toBe(0);
    const rules = spawnSync('promtool', ['check', 'rules', join(dir, 'monitoring/rules/ferry-alerts.yml')], { encoding: 'utf8' });
    expect(rules.status, rules.stdout + rules.stderr).toBe(0);
    expect(rules.stdout).toContain(`SUCCESS: ${ALERTS.length} rules found`);
    const tests = spawnSync('promtool', ['test', 'rules', join(dir, 'monitoring/rules/ferry-alerts.test.yml')], { encoding: 'utf8' });
    expect(tests.status, tests.stdout + tests.stderr).toBe(0);
    expect(parse(readFileSync(join(dir, 'monitoring/rules/ferry-alerts.test.yml'), 'utf8')).tests.map((t: { alert_rule_test: Array<{ alertname: string }> }) => t.alert_rule_test[0].alertname)).toEqual(ALERTS.map((a) => a.alert));
  });

  it.skipIf(!amtool)('amtool: the Alertmanager config checks', () => {
    const checked = spawnSync('amtool', ['check-config', join(dir, 'monitoring/alertmanager.yml')], { encoding: 'utf8' });
    expect(checked.status, checked.stdout + checked.stderr).toBe(0);
  });

  it.skipIf(!tools)('Grafana: every dashboard has a fixed uid, names the provisioned data source, and every query parses in Prometheus', async () => {
    const dashboards = readdirSync(join(dir, 'monitoring/grafana/dashboards')).map((file) => JSON.parse(readFileSync(join(dir, 'monitoring/grafana/dashboards', file), 'utf8')));
    expect(dashboards.map((d) => d.uid).sort()).toEqual(['ferry-dora', 'ferry-host', 'ferry-red']);
    const datasource = parse(readFileSync(join(dir, 'monitoring/grafana/provisioning/datasources/prometheus.yml'), 'utf8')).datasources[0];
    expect(datasource.uid).toBe('ferry-prometheus');
    prometheus = await startPrometheus([]);
    const exprs = dashboards.flatMap((d) => d.panels.flatMap((p: { datasource: { uid: string }; targets: Array<{ expr: string; datasource: { uid: string } }> }) => {
      expect(p.datasource.uid).toBe(datasource.uid);
      return p.targets.map((t) => t.expr);
    }));
    expect(exprs.length).toBeGreaterThan(10);
    for (const expr of exprs) {
      // Grafana's own variables, as Grafana would fill them.
      const query = expr.replaceAll('$__rate_interval', '1m').replaceAll('$environment', 'production');
      const answer = (await (await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(query)}`)).json()) as { status: string; error?: string };
      expect(answer, expr).toMatchObject({ status: 'success' });
    }
  });

  it.skipIf(!tools || !nodeExporter)("the host dashboard's queries find data in a real node-exporter, and the host alerts' expressions evaluate on it", async () => {
    const port = await freePort();
    const exporter = spawn(NODE_EXPORTER, [`--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
    // node-exporter reads much of /proc and /sys per scrape. In a full run on 2 cores, scraped every 1 s with a
    // 1 s timeout, the CPU rate had no two samples within 15 s once: every 2 s, the rate over 20 s, and 45 s to wait.
    const scraper = await startPrometheus([{ job: 'node', address: `127.0.0.1:${port}`, scrapeSeconds: 2 }]);
    try {
      const host = JSON.parse(readFileSync(join(dir, 'monitoring/grafana/dashboards/host.json'), 'utf8'));
      const exprs: string[] = host.panels.flatMap((p: { targets: Array<{ expr: string }> }) => p.targets.map((t) => t.expr)).filter((e: string) => e.includes('node_'));
      expect(exprs.length).toBe(6);
      for (const expr of exprs) {
        const query = expr.replaceAll('$__rate_interval', '20s');
        let result: unknown[] = [];
        for (const deadline = Date.now() + 45_000; result.length === 0 && Date.now() < deadline; ) {
          result = await scraper.query(query);
          if (!result.length) await new Promise((r) => setTimeout(r, 250));
        }
        expect(result.length, expr).toBeGreaterThan(0);
      }
      for (const alert of ALERTS.filter((a) => a.alert.startsWith('Host'))) await scraper.query(alert.expr.replace('[5m]', '[20s]'));
    } finally {
      exporter.kill();
      await scraper.stop();
    }
  });
});

