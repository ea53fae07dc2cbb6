// npm run bench:router: the same wrk load against the instance directly, through ferry's router (1 and 2 workers),
// nginx, haproxy and Caddy (1 and 2 workers, threads or GOMAXPROCS), interleaved over 5 rounds; then a worker SIGKILLed
// every second under load.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureRouter, type RouterClient } from '../src/router/client.js';
import { KeepAliveLoad } from '../test/support/load.js';
import { probeHttp } from '../src/health/probe.js';
import { freePort } from '../src/util/ports.js';
import { isProcessAlive, sleep } from '../src/util/sleep.js';
import { REPO_ROOT } from '../test/support/project.js';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const KILL_SECONDS = Number(process.env.BENCH_KILL_S ?? 20);

interface WrkResult {
  /** CPU time the proxy process spent per request, user and system, in microseconds. */
  cpuUsPerRequest?: { user: number; system: number };
  rps: number;
  p99Ms: number;
  p50Ms: number;
  p90Ms: number;
  maxMs: number;
  errors: number;
}

function toMs(text: string): number {
  const match = /([\d.]+)(us|ms|s)/.exec(text);
  if (!match) return NaN;
  const value = Number(match[1]);
  return match[2] === 'us' ? value / 1000 : match[2] === 's' ? value * 1000 : value;
}

function wrk(port: number, seconds = DURATION_S): WrkResult {
  const result = spawnSync('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', `http://127.0.0.1:${port}/`], { encoding: 'utf8' });
  const out = result.stdout;
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? '0';
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN),
    p50Ms: toMs(/^\s+50%\s+(\S+)/m.exec(out)?.[1] ?? ''),
    p90Ms: toMs(/^\s+90%\s+(\S+)/m.exec(out)?.[1] ?? ''),
    maxMs: toMs(/^\s+Latency\s+\S+\s+\S+\s+(\S+)/m.exec(out)?.[1] ?? ''),
    p99Ms: toMs(/^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? ''),
    errors: Number(errors) + (socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0),
  };
}

async function waitHealthy(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await probeHttp(port, '/health', 500)).ok) return;
    await sleep(50);
  }
  throw new Error(`nothing healthy on :${port}`);
}

/** CPU seconds (user, system) a process has used so far, from /proc. */
function cpuSeconds(pid: number): { user: number; system: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 };
}

function childPids(pid: number): number[] {
  const out = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout.trim();
  return out ? out.split('\n').map(Number) : [];
}

function startNginx(dir: string, workers: number, listenPort: number, upstreamPort: number): ChildProcess {
  mkdirSync(join(dir, 'logs'), { recursive: true });
  writeFileSync(
    join(dir, 'nginx.conf'),
    `worker_processes ${workers};
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  upstream app { server 127.0.0.1:${upstreamPort}; keepalive 128; }
  server {
    listen 127.0.0.1:${listenPort};
    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header X-Forwarded-For $remote_addr; }
  }
}
`,
  );
  return spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: 'inherit' });
}

function startHaproxy(dir: string, threads: number, listenPort: number, upstreamPort: number): ChildProcess {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'haproxy.cfg'),
    `global
  nbthread ${threads}
defaults
  mode http
  timeout connect 5s
  timeout client 65s
  timeout server 65s
  option forwardfor
  http-reuse always
frontend web
  bind 127.0.0.1:${listenPort}
  default_backend app
backend app
  server app 127.0.0.1:${upstreamPort}
`,
  );
  return spawn('haproxy', ['-f', join(dir, 'haproxy.cfg'), '-db'], { stdio: 'inherit' });
}

/** Caddy (Debian's caddy) as a reverse proxy, its Go scheduler on `procs` cores (GOMAXPROCS): the yardstick a Go proxy such as kamal-proxy is held to. */
function startCaddy(dir: string, procs: number, listenPort: number, upstreamPort: number): ChildProcess {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'Caddyfile'), `{\n  admin off\n  auto_https off\n}\nhttp://127.0.0.1:${listenPort} {\n  reverse_proxy 127.0.0.1:${upstreamPort}\n}\n`);
  return spawn('caddy', ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], { stdio: 'ignore', env: { ...process.env, GOMAXPROCS: String(procs), HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir } });
}

const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

interface Target {
  name: string;
  port: number;
  /** The processes whose CPU is the proxy's (router: master and workers). */
  pids: () => Promise<number[]>;
  counters?: { router: RouterClient; enabled: boolean };
}

/** Runs one wrk round against a target and prints it. */
async function measure(target: Target, round: number): Promise<WrkResult> {
  if (target.counters) await target.counters.router.setRequestCounting(target.counters.enabled);
  const pids = await target.pids();
  const before = pids.map(cpuSeconds);
  const result = wrk(target.port);
  if (pids.length > 0) {
    const after = pids.map(cpuSeconds);
    const requests = result.rps * DURATION_S;
    const sum = (list: Array<{ user: number; system: number }>, key: 'user' | 'system') => list.reduce((total, each) => total + each[key], 0);
    result.cpuUsPerRequest = { user: ((sum(after, 'user') - sum(before, 'user')) * 1e6) / requests, system: ((sum(after, 'system') - sum(before, 'system')) * 1e6) / requests };
  }
  const cpu = result.cpuUsPerRequest ? `  proxy CPU/request ${result.cpuUsPerRequest.user.toFixed(0)}µs user + ${result.cpuUsPerRequest.system.toFixed(0)}µs system` : '';
  console.log(`  round ${round}  ${target.name.padEnd(30)} ${result.rps.toFixed(0).padStart(7)} req/s  p50 ${result.p50Ms.toFixed(2)}ms  p90 ${result.p90Ms.toFixed(2)}ms  p99 ${result.p99Ms.toFixed(2)}ms  max ${result.maxMs.toFixed(1)}ms  errors ${result.errors}${cpu}`);
  return result;
}

/** A worker SIGKILLed every second under keep-alive load (and new connections): refused connections and failed requests. */
async function killWorkers(router: RouterClient, port: number, seconds: number): Promise<boolean> {
  const keepAlive = new KeepAliveLoad({ port, connections: 20 });
  const fresh = new KeepAliveLoad({ port, connections: 4, keepAlive: false });
  keepAlive.start();
  fresh.start();
  let kills = 0;
  for (let i = 0; i < seconds; i++) {
    await sleep(1000);
    const [victim] = (await router.state()).workers;
    if (victim) {
      process.kill(victim, 'SIGKILL');
      kills++;
    }
  }
  await sleep(500);
  await Promise.all([keepAlive.stop(), fresh.stop()]);
  const samples = [...keepAlive.samples, ...fresh.samples];
  const failed = samples.filter((s) => s.status !== 200);
  const refused = failed.filter((s) => s.error === 'ECONNREFUSED').length;
  const kinds = [...new Set(failed.map((s) => s.error ?? String(s.status)))].map((kind) => `${kind} ${failed.filter((s) => (s.error ?? String(s.status)) === kind).length}`);
  console.log(`  ${kills} workers SIGKILLed in ${seconds} s under 20 keep-alive connections and 4 opening a connection per request:`);
  console.log(`  requests ${samples.length}, failed ${failed.length} (${kinds.join(', ') || 'none'}), refused connections ${refused}; workers now ${(await router.state()).workers.length}`);
  return refused === 0;
}

async function main(): Promise<void> {
  const missing = ['wrk', 'nginx'].filter((tool) => !has(tool));
  if (missing.length) {
    console.error(`bench:router needs ${missing.join(' and ')}: apt-get install nginx-light wrk (and haproxy caddy, for their figures)`);
    process.exit(2);
  }
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-router-'));
  const children: ChildProcess[] = [];
  const routers: RouterClient[] = [];
  try {
    const { client: one } = await ensureRouter(join(dir, 'state-1'), { workers: 1 });
    const { client: two } = await ensureRouter(join(dir, 'state-2'), { workers: 2 });
    routers.push(one, two);
    const instancePort = await freePort();
    const instance = { id: 'bench-1', env: 'bench', release: 'r1', port: instancePort, cwd: join(REPO_ROOT, 'example'), command: 'node server.js', vars: {}, logFile: join(dir, 'instance.log') };
    await one.startInstance(instance);
    await two.registerUpstream({ ...instance, runtime: 'docker' });
    await waitHealthy(instancePort);
    const ports = { one: await freePort(), two: await freePort(), nginx1: await freePort(), nginx2: await freePort(), haproxy1: await freePort(), haproxy2: await freePort(), caddy1: await freePort(), caddy2: await freePort() };
    await one.setRoute({ env: 'bench', port: ports.one, upstreams: ['bench-1'] });
    const switched = await two.setRoute({ env: 'bench', port: ports.two, upstreams: ['bench-1'] });
    const nginx1 = startNginx(join(dir, 'nginx-1'), 1, ports.nginx1, instancePort);
    const nginx2 = startNginx(join(dir, 'nginx-2'), 2, ports.nginx2, instancePort);
    children.push(nginx1, nginx2);
    const haproxy = has('haproxy');
    const haproxy1 = haproxy ? startHaproxy(join(dir, 'haproxy-1'), 1, ports.haproxy1, instancePort) : undefined;
    const haproxy2 = haproxy ? startHaproxy(join(dir, 'haproxy-2'), 2, ports.haproxy2, instancePort) : undefined;
    const caddy = has('caddy');
    const caddy1 = caddy ? startCaddy(join(dir, 'caddy-1'), 1, ports.caddy1, instancePort) : undefined;
    const caddy2 = caddy ? startCaddy(join(dir, 'caddy-2'), 2, ports.caddy2, instancePort) : undefined;
    children.push(...[haproxy1, haproxy2, caddy1, caddy2].filter((child): child is ChildProcess => child !== undefined));
    for (const [name, port] of Object.entries(ports)) if ((haproxy || !name.startsWith('haproxy')) && (caddy || !name.startsWith('caddy'))) await waitHealthy(port);
    const routerPids = (router: RouterClient) => async () => {
      const state = await router.state();
      return [state.pid, ...state.workers];
    };
    const nginxWorkers = (child: ChildProcess) => async () => childPids(child.pid!);
    const self = (child: ChildProcess) => async () => [child.pid!];
    // The router's request counters are on in production; one target turns them off, so their cost shows in the same run.
    const targets: Target[] = [
      { name: 'direct', port: instancePort, pids: async () => [] },
      { name: 'ferry router, 1 worker', port: ports.one, pids: routerPids(one), counters: { router: one, enabled: true } },
      { name: 'ferry router, 1 worker, no counters', port: ports.one, pids: routerPids(one), counters: { router: one, enabled: false } },
      { name: 'nginx, 1 worker', port: ports.nginx1, pids: nginxWorkers(nginx1) },
      ...(haproxy1 ? [{ name: 'haproxy, 1 thread', port: ports.haproxy1, pids: self(haproxy1) }] : []),
      ...(caddy1 ? [{ name: 'caddy, GOMAXPROCS=1', port: ports.caddy1, pids: self(caddy1) }] : []),
      { name: 'ferry router, 2 workers', port: ports.two, pids: routerPids(two), counters: { router: two, enabled: true } },
      { name: 'nginx, 2 workers', port: ports.nginx2, pids: nginxWorkers(nginx2) },
      ...(haproxy2 ? [{ name: 'haproxy, 2 threads', port: ports.haproxy2, pids: self(haproxy2) }] : []),
      ...(caddy2 ? [{ name: 'caddy, GOMAXPROCS=2', port: ports.caddy2, pids: self(caddy2) }] : []),
    ];
    const results: Record<string, WrkResult[]> = {};
    console.log(`wrk -t1 -c${CONNECTIONS} -d${DURATION_S}s, ${ROUNDS} rounds, targets interleaved (each round starting one later); upstream: example/server.js (one process)${haproxy ? '' : '; haproxy not installed'}${caddy ? '' : '; caddy not installed'}\n`);
    // Warm-up: the upstream, and each proxy's code paths (a fresh worker's JIT would otherwise cost its first round).
    for (const port of new Set(targets.map((target) => target.port))) wrk(port, 3);
    for (let round = 1; round <= ROUNDS; round++) {
      // Each round starts one target later: no target always runs first, or always right after another.
      const shift = (round - 1) % targets.length;
      for (const target of [...targets.slice(shift), ...targets.slice(0, shift)]) (results[target.name] ??= []).push(await measure(target, round));
    }
    await one.setRequestCounting(true);
    // Medians over rounds: one lucky or unlucky round on a shared machine does not decide.
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
    const typical = (name: string) => ({ rps: median(results[name].map((r) => r.rps)), p99Ms: median(results[name].map((r) => r.p99Ms)) });
    console.log('\n  median of rounds:');
    for (const { name } of targets) console.log(`  ${name.padEnd(36)} ${typical(name).rps.toFixed(0).padStart(7)} req/s  p99 ${typical(name).p99Ms.toFixed(2)}ms`);
    const compare = (ours: string, theirs: string) => {
      const throughput = typical(ours).rps / typical(theirs).rps;
      const p99 = typical(ours).p99Ms / typical(theirs).p99Ms;
      const pass = throughput >= 0.9 && p99 <= 1.2;
      console.log(`  ${ours} / ${theirs}: throughput ${throughput.toFixed(2)} (target ≥ 0.9), p99 ${p99.toFixed(2)} (target ≤ 1.2) ${pass ? 'ok' : 'MISSED'}`);
      return pass;
    };
    console.log('');
    const oneOk = compare('ferry router, 1 worker', 'nginx, 1 worker');
    const twoOk = compare('ferry router, 2 workers', 'nginx, 2 workers');
    if (haproxy) {
      compare('ferry router, 1 worker', 'haproxy, 1 thread');
      compare('ferry router, 2 workers', 'haproxy, 2 threads');
    }
    if (caddy) {
      compare('ferry router, 1 worker', 'caddy, GOMAXPROCS=1');
      compare('ferry router, 2 workers', 'caddy, GOMAXPROCS=2');
    }
    const counted = typical('ferry router, 1 worker');
    const uncounted = typical('ferry router, 1 worker, no counters');
    const countersRatio = counted.rps / uncounted.rps;
    console.log(`  request counters on / off: throughput ${countersRatio.toFixed(3)}, p99 ${(counted.p99Ms / uncounted.p99Ms).toFixed(2)} (target: within 5%) ${Math.abs(1 - countersRatio) <= 0.05 ? 'ok' : 'MISSED'}`);
    console.log(`  a routing change reached 2 workers in ${switched.propagatedMs.toFixed(2)} ms before the switch returned`);

    console.log('\nworker faults:');
    const faultsOk = await killWorkers(two, ports.two, KILL_SECONDS);
    process.exitCode = oneOk && twoOk && faultsOk ? 0 : 1;
  } finally {
    for (const child of children) child.kill('SIGTERM');
    for (const router of routers) {
      const pid = (await router.state().catch(() => undefined))?.pid;
      await router.shutdown(true).catch(() => undefined);
      while (pid && isProcessAlive(pid)) await sleep(50);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
