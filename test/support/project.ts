import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from '../../src/util/ports.js';
import { statePaths } from '../../src/state/paths.js';
import { agentStop } from '../../src/cli/agent-commands.js';

/** The repository's root: two folders up from here, or three from the benchmarks' compiled copy (dist-bench/test/support). */
export const REPO_ROOT = [resolve(import.meta.dirname, '../..'), resolve(import.meta.dirname, '../../..')].find((dir) => existsSync(join(dir, 'bin/ferry.js')))!;
export const FERRY_BIN = join(REPO_ROOT, 'bin/ferry.js');

export interface TestProject {
  dir: string;
  /** Where ferry keeps this project's state (outside the project; follows ferry.yml's app). */
  readonly stateDir: string;
  ports: { production: number; staging: number };
  ferry: (args: string[], env?: NodeJS.ProcessEnv) => Promise<{ code: number; stdout: string; stderr: string }>;
  commit: (files: Record<string, string | null>, message: string) => string;
  writeConfig: (overrides?: (config: any) => void) => void;
  cleanup: () => Promise<void>;
}

/** Fast health timings so a test deploy takes about a second. */
export function fastConfig(ports: { production: number; staging: number }) {
  return {
    app: 'hello',
    agent: { port: 0 },
    // One proxy worker, not one per core: the master hands connections to a worker as in production, and the
    // router's own tests (workers, handover) run several; a second worker per test router was CPU for nothing.
    router: { workers: 1 },
    environments: {
      production: {
        port: ports.production,
        strategy: 'blue-green',
        start: 'node server.js',
        health: { path: '/health', interval: '100ms', timeout: '1s', healthy_threshold: 2, deadline: '5s' },
        watch: '1s',
        drain: '5s',
        stop_grace: '2s',
        retain: 3,
      },
      staging: {
        port: ports.staging,
        strategy: 'recreate',
        start: 'node server.js',
        health: { path: '/health', interval: '100ms', timeout: '1s', healthy_threshold: 1, deadline: '5s' },
        stop_grace: '2s',
      },
    },
  };
}

/** A copy of example/ in a temp git repository, with its own free ports and fast health timings. */
export async function createTestProject(): Promise<TestProject> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-test-'));
  cpSync(join(REPO_ROOT, 'example'), dir, { recursive: true, filter: (from) => !from.includes('.ferry') });
  const ports = { production: await freePort(), staging: await freePort() };
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8' }).trim();
  const writeConfig = (overrides?: (config: any) => void) => {
    const config = fastConfig(ports);
    overrides?.(config);
    writeFileSync(join(dir, 'ferry.yml'), stringify(config));
  };
  writeConfig();
  git('init', '-q', '-b', 'main');
  git('-c', 'user.name=t', '-c', 'user.email=t@t', 'add', '-A');
  git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'init');
  const ferry = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolvePromise) => {
      const child = spawn(process.execPath, [FERRY_BIN, ...args, '--project', dir], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c) => (stdout += c));
      child.stderr.on('data', (c) => (stderr += c));
      child.on('close', (code) => resolvePromise({ code: code ?? -1, stdout, stderr }));
    });
  return {
    dir,
    get stateDir() {
      return statePaths(dir).root;
    },
    ports,
    ferry,
    writeConfig,
    commit(files, message) {
      for (const [name, content] of Object.entries(files)) {
        if (content === null) rmSync(join(dir, name), { force: true });
        else {
          mkdirSync(dirname(join(dir, name)), { recursive: true });
          writeFileSync(join(dir, name), content);
        }
      }
      git('-c', 'user.name=t', '-c', 'user.email=t@t', 'add', '-A');
      git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', message);
      return git('rev-parse', 'HEAD');
    },
    async cleanup() {
      // What `ferry agent stop` does, in this process: a cleanup is not a test of the CLI (those call it), and a CLI
      // process per test's cleanup was about 0.3 CPU-s each on a suite bound by its 2 cores.
      const said: string[] = [];
      await agentStop({ json: false, out: (text) => said.push(text), err: (text) => said.push(text) }, dir);
      const stateDir = statePaths(dir).root;
      if (process.env.FERRY_TEST_DEBUG) console.log('agent stop', said, dir, stateDir);
      if (!process.env.FERRY_TEST_DEBUG) for (const path of [dir, stateDir]) rmSync(path, { recursive: true, force: true });
    },
  };
}

/** A GET on loopback; one that has no answer in 30 s fails (naming the address) rather than hang its test. */
export async function httpGet(port: number, path = '/'): Promise<{ status: number; body: string }> {
  const url = `http://127.0.0.1:${port}${path}`;
  const response = await fetch(url, { signal: AbortSignal.timeout(30_000) }).catch((error: Error) => {
    throw new Error(`GET ${url}: ${error.name === 'TimeoutError' ? 'no answer in 30 s' : error.message}`, { cause: error });
  });
  return { status: response.status, body: await response.text() };
}

/** Starts a ferry command and resolves once its output matches `pattern`; the command keeps running. */
export function ferryUntil(project: TestProject, args: string[], pattern: RegExp, env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [FERRY_BIN, ...args, '--project', project.dir], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<{ code: number; output: string }>((r) => child.on('close', (code) => r({ code: code ?? -1, output })));
  const matched = new Promise<string>((resolvePromise, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (pattern.test(output)) resolvePromise(output);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then(() => reject(new Error(`command ended before ${pattern}:\n${output}`)));
  });
  return { child, matched, exited };
}

export function readAgentInfo(project: TestProject): { pid: number; routerPid: number; url: string; token: string } {
  return JSON.parse(readFileSync(statePaths(project.dir).agentInfo, 'utf8'));
}
