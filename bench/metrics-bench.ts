// npm run bench:metrics: what the agent's /metrics costs with a long history: 10 environments with 50 deploys
// each (and their steps) in the store, one pipeline run per deploy. Prints the scrape time (the first one
// computes DORA's keys from git; the next ones hit the cache) and the exposition's size.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { PipelineStore } from '../src/ci/store.js';
import { statePaths } from '../src/state/paths.js';
import { openDb } from '../src/store/db.js';
import { Store } from '../src/store/store.js';
import { FERRY_BIN } from '../test/support/project.js';

const ENVIRONMENTS = Number(process.env.BENCH_ENVIRONMENTS ?? 10);
const DEPLOYS = Number(process.env.BENCH_DEPLOYS ?? 50);
const SCRAPES = Number(process.env.BENCH_SCRAPES ?? 20);
const STEPS = ['lock', 'release', 'secrets', 'backup', 'build', 'start', 'health-gate', 'switch', 'watch', 'stop-old', 'final-health', 'prune', 'notify'];

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-metrics-'));
  process.env.XDG_STATE_HOME = join(dir, 'state-home');
  const project = join(dir, 'project');
  const environments = Object.fromEntries(Array.from({ length: ENVIRONMENTS }, (_, i) => [`env${i}`, { port: 41000 + i, start: 'node server.js' }]));
  spawnSync('mkdir', ['-p', project]);
  writeFileSync(join(project, 'ferry.yml'), stringify({ app: 'metricsbench', agent: { port: 0 }, environments }));
  writeFileSync(join(project, 'server.js'), '\n');
  const git = (...args: string[]) => spawnSync('git', ['-c', 'user.name=b', '-c', 'user.email=b@b', ...args], { cwd: project, encoding: 'utf8' }).stdout.trim();
  git('init', '-q');
  // One commit per deploy, an hour apart: the lead times git gives are real.
  const start = Date.now() - DEPLOYS * 3_600_000 * 2;
  const commits: string[] = [];
  for (let d = 0; d < DEPLOYS; d++) {
    writeFileSync(join(project, 'VERSION'), `${d}\n`);
    const date = new Date(start + d * 2 * 3_600_000).toISOString();
    spawnSync('git', ['-c', 'user.name=b', '-c', 'user.email=b@b', 'add', '-A'], { cwd: project });
    spawnSync('git', ['-c', 'user.name=b', '-c', 'user.email=b@b', 'commit', '-qm', `c${d}`], { cwd: project, env: { ...process.env, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date } });
    commits.push(git('rev-parse', 'HEAD'));
  }
  // The history, written the way the deploy flow writes it (the store's own calls), one clock per row.
  let clock = start;
  const db = openDb(statePaths(project).db);
  const store = new Store(db, () => clock);
  const pipelines = new PipelineStore(db, () => clock);
  for (let d = 0; d < DEPLOYS; d++) {
    for (const env of Object.keys(environments)) {
      clock = start + d * 2 * 3_600_000 + 600_000;
      const release = store.createRelease({ env, commit: commits[d], ref: 'HEAD', branch: 'main', subject: `c${d}`, dir: (id) => join(dir, 'releases', env, id), configJson: '{}' });
      const deployment = store.createDeployment({ env, kind: 'deploy', previousReleaseId: null });
      store.setDeploymentRelease(deployment.id, release.id);
      for (const step of STEPS) {
        const id = store.startStep(deployment.id, step);
        clock += 500;
        store.finishStep(id, 'succeeded', `${step} done`);
      }
      store.finishDeployment(deployment.id, d % 10 === 9 ? 'rolled_back' : 'succeeded', 0, null);
      const run = pipelines.startRun(commits[d], 'main');
      pipelines.recordStage(run, { name: 'test', state: 'succeeded', cached: false, inputKey: `k${d}`, durationMs: 4000, logFile: null, detail: null });
      pipelines.finishRun(run, 'succeeded', 4000);
    }
  }
  db.close();
  // The real ferry starts the agent (this script's compiled copy of src/ is not where bin/ferry.js looks).
  const started = spawnSync(process.execPath, [FERRY_BIN, 'agent', '--detach', '--project', project], { encoding: 'utf8', env: process.env });
  if (started.status !== 0) throw new Error(`the agent did not start: ${started.stderr}`);
  const agent = JSON.parse(readFileSync(statePaths(project).agentInfo, 'utf8')) as { url: string; token: string };
  try {
    const times: number[] = [];
    let size = 0;
    let series = 0;
    for (let i = 0; i < SCRAPES; i++) {
      const began = performance.now();
      const text = await (await fetch(`${agent.url}/metrics`, { headers: { authorization: `Bearer ${agent.token}` } })).text();
      times.push(performance.now() - began);
      size = Buffer.byteLength(text);
      series = text.split('\n').filter((line) => line && !line.startsWith('#')).length;
    }
    const warm = times.slice(1).sort((a, b) => a - b);
    console.log(`/metrics with ${ENVIRONMENTS} environments × ${DEPLOYS} deploys (${ENVIRONMENTS * DEPLOYS} deployments, ${ENVIRONMENTS * DEPLOYS * STEPS.length} steps) and ${ENVIRONMENTS * DEPLOYS} pipeline runs:`);
    console.log(`  first scrape (DORA's keys computed, git read):  ${times[0].toFixed(1)} ms`);
    console.log(`  next ${warm.length} scrapes: median ${warm[Math.floor(warm.length / 2)].toFixed(1)} ms, max ${warm.at(-1)!.toFixed(1)} ms`);
    console.log(`  size ${(size / 1024).toFixed(1)} KB, ${series} samples`);
  } finally {
    spawnSync(process.execPath, [FERRY_BIN, 'agent', 'stop', '--project', project], { stdio: 'ignore', env: process.env });
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
