// npm run bench:deploy: five deploys back to back under keep-alive load, then the agent and the router killed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeepAliveLoad, summarize, type Sample } from '../test/support/load.js';
import { createTestProject, ferryUntil, httpGet, readAgentInfo, type TestProject } from '../test/support/project.js';
import { sleep } from '../src/util/sleep.js';
import { ensureTestBaseImage, removeDockerLeftovers } from '../test/support/docker-base.js';

const RUNTIME = process.argv.includes('--runtime') ? process.argv[process.argv.indexOf('--runtime') + 1] : 'process';
const BENCH_APP = `bench${RUNTIME}`;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const PACING_MS = Number(process.env.BENCH_PACING_MS ?? 20);

interface DeployRun {
  name: string;
  code: number;
  expected: number;
  outcome: string;
  serving: string;
  expectedServing: string;
  healthyToSwitchMs?: number;
  failureToRestoredMs?: number;
  phases: Record<string, number>;
  window: [number, number];
}

const PHASES = [['build', 'build'], ['start', 'start'], ['health-gate', 'healthy'], ['switch', 'switch'], ['drain', 'drain']] as const;
const formatPhases = (phases: Record<string, number>) =>
  PHASES.filter(([step]) => phases[step] !== undefined).map(([step, label]) => `${label} ${phases[step]}ms`).join(', ');

const serving = async (project: TestProject) => JSON.parse((await httpGet(project.ports.production)).body).release as string;

async function deploy(project: TestProject, name: string, files: Record<string, string | null>, expected: number, expectedServing: string): Promise<DeployRun> {
  project.commit(files, name);
  const started = Date.now();
  const result = await project.ferry(['deploy', 'production', '--json']);
  const ended = Date.now();
  const body = JSON.parse(result.stdout);
  const run: DeployRun = {
    name,
    code: result.code,
    expected,
    outcome: body.outcome,
    serving: await serving(project),
    expectedServing,
    healthyToSwitchMs: body.timings?.healthyToSwitchMs,
    failureToRestoredMs: body.timings?.failureToRestoredMs,
    phases: body.timings?.phases ?? {},
    window: [started, ended],
  };
  console.log(`  ${name.padEnd(34)} exit ${run.code} (want ${expected})  ${run.outcome.padEnd(11)} serving ${run.serving} (want ${expectedServing})${run.healthyToSwitchMs !== undefined ? `  healthy→switch ${run.healthyToSwitchMs}ms` : ''}${run.failureToRestoredMs !== undefined ? `  first failed probe→restored ${run.failureToRestoredMs}ms` : ''}`);
  console.log(`  ${''.padEnd(34)} phases: ${formatPhases(run.phases)}`);
  return run;
}

function split(samples: Sample[], windows: Array<[number, number]>) {
  const inside = (s: Sample) => windows.some(([a, b]) => s.at >= a && s.at <= b);
  return { during: summarize(samples.filter(inside)), outside: summarize(samples.filter((s) => !inside(s))) };
}

async function fiveDeploys(project: TestProject): Promise<boolean> {
  const pkg = readFileSync(join(project.dir, 'package.json'), 'utf8');
  const load = new KeepAliveLoad({ port: project.ports.production, connections: CONNECTIONS, pacingMs: PACING_MS });
  load.start();
  await sleep(1000);
  const runs = [
    await deploy(project, 'good release (1.1.0)', { 'package.json': pkg.replace('"1.0.0"', '"1.1.0"') }, 0, 'r2'),
    await deploy(project, 'good release (1.2.0)', { 'package.json': pkg.replace('"1.0.0"', '"1.2.0"') }, 0, 'r3'),
    await deploy(project, 'exits at start', { 'fault.json': '{"exitAtStart": true}' }, 1, 'r3'),
    await deploy(project, '/health answers 500', { 'fault.json': '{"healthStatus": 500}' }, 1, 'r3'),
    // Unhealthy ~3 s after the switch: the gate takes ~0.4 s after the process starts (a container ~1.5 s).
    await deploy(project, '/health 503 three seconds after switch', { 'fault.json': `{"unhealthyAfterMs": ${RUNTIME === 'process' ? 3400 : 4500}, "unhealthyStatus": 503}` }, 1, 'r3'),
  ];
  await sleep(1000);
  const total = await load.stop();
  const { during, outside } = split(load.samples, runs.map((r) => r.window));
  console.log(`\n  load: ${CONNECTIONS} keep-alive connections, one request per ${PACING_MS}ms each at most`);
  console.log(`  requests ${total.requests}  non-2xx ${total.non2xx}  socket errors ${total.socketErrors}${total.errors.length ? ` (${total.errors.join(', ')})` : ''}`);
  console.log(`  latency during deploys   p50 ${during.p50Ms}ms  p99 ${during.p99Ms}ms  (${during.requests} requests)`);
  console.log(`  latency outside deploys  p50 ${outside.p50Ms}ms  p99 ${outside.p99Ms}ms  (${outside.requests} requests)`);
  const ok = total.non2xx === 0 && total.socketErrors === 0 && runs.every((r) => r.code === r.expected && r.serving === r.expectedServing);
  console.log(`  exit codes ${runs.map((r) => r.code).join(', ')} (required 0, 0, 1, 1, 1)  → ${ok ? 'PASS' : 'FAIL'}`);
  return ok;
}

async function killAgentMidDeploy(project: TestProject): Promise<boolean> {
  const load = new KeepAliveLoad({ port: project.ports.production, connections: CONNECTIONS, pacingMs: PACING_MS });
  load.start();
  project.commit({ 'fault.json': null, 'VERSION': '4' }, 'agent kill');
  const run = ferryUntil(project, ['deploy', 'production'], /^→ watch$/m);
  await run.matched;
  process.kill(readAgentInfo(project).pid, 'SIGKILL');
  const interrupted = await run.exited;
  const status = await project.ferry(['status', 'production', '--json']);
  const env = JSON.parse(status.stdout).environments[0];
  const next = await project.ferry(['deploy', 'production']);
  const summary = await load.stop();
  console.log(`  deploy CLI exit ${interrupted.code} when its agent died in the watch window`);
  console.log(`  after restart: deployment #${env.lastDeployment.id} ${env.lastDeployment.state} (${env.lastDeployment.error}); lock ${env.lock ? 'HELD' : 'free'}; serving ${env.serving?.id}`);
  console.log(`  next deploy exit ${next.code}; requests ${summary.requests}  non-2xx ${summary.non2xx}  socket errors ${summary.socketErrors}`);
  const ok = summary.non2xx === 0 && summary.socketErrors === 0 && env.lock === null && env.lastDeployment.state !== 'running' && next.code === 0;
  console.log(`  → ${ok ? 'PASS' : 'FAIL'}`);
  return ok;
}

/** The instances answering, as "instance pid" strings, from a few requests (replicas answer in turn). */
async function answering(project: TestProject): Promise<string> {
  const seen = new Set<string>();
  for (let i = 0; i < 8; i++) {
    const body = JSON.parse((await httpGet(project.ports.production)).body);
    seen.add(`${body.instance} pid ${body.pid}`);
  }
  return [...seen].sort().join(', ');
}

async function killRouter(project: TestProject): Promise<boolean> {
  const before = await answering(project);
  const load = new KeepAliveLoad({ port: project.ports.production, connections: CONNECTIONS, pacingMs: PACING_MS });
  load.start();
  await sleep(500);
  const killedAt = Date.now();
  process.kill(readAgentInfo(project).routerPid, 'SIGKILL');
  await sleep(3000);
  const summary = await load.stop();
  const failed = load.samples.filter((s) => s.status === null || s.status >= 300);
  const lastFailure = failed.length ? Math.max(...failed.map((s) => s.at + s.ms)) : killedAt;
  const after = await answering(project);
  console.log(`  router SIGKILL: failed requests ${failed.length} of ${summary.requests} (${summary.errors.join(', ') || 'none'}); gap from kill to last failure ${Math.round(lastFailure - killedAt)}ms`);
  console.log(`  before: ${before}; after: ${after}: ${before === after ? 're-adopted, not restarted' : 'RESTARTED'}`);
  return before === after;
}

async function main(): Promise<void> {
  const project = await createTestProject();
  const base = RUNTIME !== 'process' ? await ensureTestBaseImage() : undefined;
  project.writeConfig((config) => {
    Object.assign(config.environments.production, {
      health: { path: '/health', interval: '200ms', timeout: '1s', healthy_threshold: 2, deadline: base ? '20s' : '5s' },
      watch: '6s',
      drain: '10s',
    });
    if (base) {
      config.app = BENCH_APP;
      delete config.environments.production.start;
      Object.assign(config.environments.production, { runtime: RUNTIME, build_args: { BASE_IMAGE: base }, replicas: RUNTIME === 'swarm' ? 2 : 1 });
    }
  });
  console.log(`runtime: ${RUNTIME}${RUNTIME === 'swarm' ? ', replicas: 2' : ''}\n`);
  project.commit({}, 'bench config');
  let ok = false;
  try {
    const first = await project.ferry(['deploy', 'production']);
    if (first.code !== 0) throw new Error(`first deploy failed:\n${first.stdout}${first.stderr}`);
    console.log('1. five deploys under load');
    const deploys = await fiveDeploys(project);
    console.log('\n2. the agent killed with SIGKILL mid-deploy, under load');
    const agent = await killAgentMidDeploy(project);
    console.log('\n3. the router killed with SIGKILL, under load');
    const router = await killRouter(project);
    ok = deploys && agent && router;
  } finally {
    await project.cleanup();
    if (base) await removeDockerLeftovers(BENCH_APP);
  }
  process.exit(ok ? 0 : 1);
}

void main();
