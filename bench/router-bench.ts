// npm run bench:router: the same wrk load against the instance directly, through ferry's router, and through nginx (1 worker).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureRouter } from '../src/router/client.js';
import { probeHttp } from '../src/health/probe.js';
import { freePort } from '../src/util/ports.js';
import { isProcessAlive, sleep } from '../src/util/sleep.js';
import { REPO_ROOT } from '../test/support/project.js';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);

interface WrkResult {
  /** CPU time the proxy process spent per request, user and system, in microseconds. */
  cpuUsPerRequest?: { user: number; system: number };
  rps: number;
  p99Ms: number;
  p50Ms: number;
  errors: number;
}

function toMs(text: string): number {
  const match = /([\d.]+)(us|ms|s)/.exec(text);
  if (!match) return NaN;
  const value = Number(match[1]);
  return match[2] === 'us' ? value / 1000 : match[2] === 's' ? value * 1000 : value;
}

function wrk(port: number): WrkResult {
  const result = spawnSync('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${DURATION_S}s`, '--latency', `http://127.0.0.1:${port}/`], { encoding: 'utf8' });
  const out = result.stdout;
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? '0';
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN),
    p50Ms: toMs(/^\s+50%\s+(\S+)/m.exec(out)?.[1] ?? ''),
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

function startNginx(dir: string, listenPort: number, upstreamPort: number): ChildProcess {
  mkdirSync(join(dir, 'logs'), { recursive: true });
  writeFileSync(
    join(dir, 'nginx.conf'),
    `worker_processes 1;
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

function missingTools(): string[] {
  return ['wrk', 'nginx'].filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
}

async function main(): Promise<void> {
  const missing = missingTools();
  if (missing.length) {
    console.error(`bench:router needs ${missing.join(' and ')}: apt-get install nginx-light wrk`);
    process.exit(2);
  }
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-router-'));
  let nginx: ChildProcess | undefined;
  const { client: router } = await ensureRouter(join(dir, 'state'));
  try {
    const instancePort = await freePort();
    await router.startInstance({ id: 'bench-1', env: 'bench', release: 'r1', port: instancePort, cwd: join(REPO_ROOT, 'example'), command: 'node server.js', vars: {}, logFile: join(dir, 'instance.log') });
    await waitHealthy(instancePort);
    const routerPort = await freePort();
    await router.setRoute({ env: 'bench', port: routerPort, upstreams: ['bench-1'] });
    const nginxPort = await freePort();
    nginx = startNginx(join(dir, 'nginx'), nginxPort, instancePort);
    await waitHealthy(routerPort);
    await waitHealthy(nginxPort);

    // The router's request counters (per environment and release: status classes, latency histogram) are on in
    // production; one target turns them off for its rounds, so their cost shows in the same run.
    const targets = { direct: instancePort, 'ferry router': routerPort, 'router, no counters': routerPort, 'nginx (1 worker)': nginxPort } as const;
    const routerPid = (await router.state()).pid;
    const nginxWorker = childPids(nginx.pid!)[0];
    const proxyPid: Record<string, number | undefined> = { direct: undefined, 'ferry router': routerPid, 'router, no counters': routerPid, 'nginx (1 worker)': nginxWorker };
    const results: Record<string, WrkResult[]> = {};
    console.log(`wrk -t1 -c${CONNECTIONS} -d${DURATION_S}s, ${ROUNDS} rounds, targets interleaved; upstream: example/server.js\n`);
    wrk(instancePort); // warm-up
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [name, port] of Object.entries(targets)) {
        const pid = proxyPid[name];
        await router.setRequestCounting(name !== 'router, no counters');
        const before = pid ? cpuSeconds(pid) : undefined;
        const result = wrk(port);
        if (pid && before) {
          const after = cpuSeconds(pid);
          const requests = result.rps * DURATION_S;
          result.cpuUsPerRequest = { user: ((after.user - before.user) * 1e6) / requests, system: ((after.system - before.system) * 1e6) / requests };
        }
        (results[name] ??= []).push(result);
        const cpu = result.cpuUsPerRequest ? `  proxy CPU/request ${result.cpuUsPerRequest.user.toFixed(0)}µs user + ${result.cpuUsPerRequest.system.toFixed(0)}µs system` : '';
        console.log(`  round ${round}  ${name.padEnd(20)} ${result.rps.toFixed(0).padStart(7)} req/s  p50 ${result.p50Ms.toFixed(2)}ms  p99 ${result.p99Ms.toFixed(2)}ms  errors ${result.errors}${cpu}`);
      }
    }
    const best = (name: string) => {
      const runs = results[name];
      return { rps: Math.max(...runs.map((r) => r.rps)), p99Ms: Math.min(...runs.map((r) => r.p99Ms)) };
    };
    const direct = best('direct');
    const ours = best('ferry router');
    const theirs = best('nginx (1 worker)');
    console.log('\n  best of rounds:');
    for (const name of Object.keys(targets)) console.log(`  ${name.padEnd(20)} ${best(name).rps.toFixed(0).padStart(7)} req/s  p99 ${best(name).p99Ms.toFixed(2)}ms`);
    const throughputRatio = ours.rps / theirs.rps;
    const p99Ratio = ours.p99Ms / theirs.p99Ms;
    console.log(`\n  router / nginx throughput ${throughputRatio.toFixed(2)} (target ≥ 0.8)   router / nginx p99 ${p99Ratio.toFixed(2)} (target ≤ 1.5)`);
    console.log(`  router / direct throughput ${(ours.rps / direct.rps).toFixed(2)}   nginx / direct throughput ${(theirs.rps / direct.rps).toFixed(2)}`);
    const uncounted = best('router, no counters');
    console.log(`  request counters: throughput with / without ${(ours.rps / uncounted.rps).toFixed(3)}   p99 with / without ${(ours.p99Ms / uncounted.p99Ms).toFixed(2)}`);
    process.exitCode = throughputRatio >= 0.8 && p99Ratio <= 1.5 ? 0 : 1;
  } finally {
    nginx?.kill('SIGQUIT');
    const routerPid = (await router.state().catch(() => undefined))?.pid;
    await router.shutdown(true).catch(() => undefined);
    while (routerPid && isProcessAlive(routerPid)) await sleep(50);
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
