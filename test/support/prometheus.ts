import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/util/ports.js';

export const PROMETHEUS_BIN = '/usr/bin/prometheus';
export const prometheusAvailable = () => existsSync(PROMETHEUS_BIN);

export interface TestPrometheus {
  url: string;
  /** An instant query's result vector. */
  query: (promql: string) => Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  stop: () => Promise<void>;
}

/**
 * A real Prometheus on 127.0.0.1 scraping the given targets every second, or every `scrapeSeconds` (bearer token
 * from a file, as the agent needs). The scrape timeout is the interval: a target slower than that is `up 0`.
 */
export async function startPrometheus(targets: Array<{ job: string; address: string; token?: string; scrapeSeconds?: number }>, startTimeoutMs = 30_000): Promise<TestPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-prometheus-'));
  const port = await freePort();
  const jobs = targets.map((target) => {
    const tokenFile = join(dir, `${target.job}.token`);
    if (target.token) writeFileSync(tokenFile, target.token, { mode: 0o600 });
    return `  - job_name: ${target.job}
    scrape_interval: ${target.scrapeSeconds ?? 1}s
    scrape_timeout: ${target.scrapeSeconds ?? 1}s
    static_configs: [{ targets: ['${target.address}'] }]
${target.token ? `    authorization: { credentials_file: ${tokenFile} }\n` : ''}`;
  });
  writeFileSync(join(dir, 'prometheus.yml'), `global: { scrape_interval: 1s, evaluation_interval: 1s }\nscrape_configs:\n${jobs.join('')}`);
  const child = spawn(PROMETHEUS_BIN, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (chunk) => (log = (log + chunk).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + startTimeoutMs;
  while (!(await fetch(`${url}/-/ready`).then((r) => r.ok, () => false))) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`prometheus did not become ready:\n${log}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    async query(promql) {
      const body = (await (await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`)).json()) as { status: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> }; error?: string };
      if (body.status !== 'success') throw new Error(`query ${promql}: ${body.error}`);
      return body.data.result;
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
