import { execFileSync, spawn } from 'node:child_process';
import { STEADY_TRAFFIC } from './load.js';

export interface TestNamespace {
  name: string;
  /** The namespace's address on its veth pair (the host side is .1). */
  address: string;
  /** Runs a short command inside the namespace and returns its stdout. */
  run(file: string, args: string[], env?: NodeJS.ProcessEnv): string;
  remove(): void;
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

/**
 * A network namespace with a veth pair to this one: a "server" of its own, with its own loopback (so two
 * hosts' routers can listen on the same port) and an address the tests reach it at. Tests only ever send
 * traffic to namespaces they made.
 */
export function createNamespace(index: number): TestNamespace {
  const tag = `${process.pid % 10000}${index}`;
  const name = `ferryt${tag}`;
  const subnet = `10.231.${(process.pid % 120) * 2 + index}`;
  const [outside, inside] = [`fva${tag}`, `fvb${tag}`];
  ip('netns', 'add', name);
  ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', inside);
  ip('link', 'set', inside, 'netns', name);
  ip('addr', 'add', `${subnet}.1/30`, 'dev', outside);
  ip('link', 'set', outside, 'up');
  ip('netns', 'exec', name, 'ip', 'addr', 'add', `${subnet}.2/30`, 'dev', inside);
  ip('netns', 'exec', name, 'ip', 'link', 'set', inside, 'up');
  ip('netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up');
  return {
    name,
    address: `${subnet}.2`,
    run: (file, args, env) => execFileSync('ip', ['netns', 'exec', name, file, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env }),
    remove() {
      // Whatever still runs in it (a router, an instance) goes with it.
      try {
        const pids = ip('netns', 'pids', name).trim().split('\n').filter(Boolean);
        for (const pid of pids) process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
      try {
        ip('netns', 'del', name);
      } catch {
        // already gone
      }
    },
  };
}

/** Keep-alive HTTP load from inside a namespace to a port on its loopback (steady traffic: load.ts), until stop(): what it saw. */
export function loadInNamespace(namespace: TestNamespace, port: number, { connections, pacingMs }: { connections: number; pacingMs: number } = STEADY_TRAFFIC) {
  const script = `
    const http = require('node:http');
    const agent = new http.Agent({ keepAlive: true, maxSockets: ${connections} });
    let running = true, requests = 0, failed = 0; const errors = [];
    process.stdin.on('data', () => (running = false));
    const once = () => new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.1', port: ${port}, path: '/', agent, timeout: 10000 }, (res) => { res.resume(); res.on('end', () => { requests++; if (res.statusCode !== 200) { failed++; errors.push(String(res.statusCode)); } resolve(); }); });
      req.on('error', (e) => { requests++; failed++; errors.push(e.code || e.message); resolve(); });
    });
    const loops = Array.from({ length: ${connections} }, async () => {
      while (running) {
        const sent = Date.now();
        await once();
        const pauseMs = ${pacingMs} - (Date.now() - sent);
        if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
    });
    Promise.all(loops).then(() => { process.stdout.write(JSON.stringify({ requests, failed, errors: errors.slice(0, 10) })); agent.destroy(); });
  `;
  const child = spawn('ip', ['netns', 'exec', namespace.name, process.execPath, '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  return {
    stop: () =>
      new Promise<{ requests: number; failed: number; errors: string[] }>((resolve) => {
        child.once('close', () => resolve(JSON.parse(output || '{"requests":0,"failed":-1,"errors":["no output"]}')));
        child.stdin.end('stop\n');
      }),
  };
}
