import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, delimiter, join } from 'node:path';
import { probeHttp } from '../health/probe.js';
import { instanceBaseEnv } from '../shared/process-env.js';
import { freePort } from '../util/ports.js';
import { sleep } from '../util/sleep.js';
import { MAX_FILE_BYTES, sourceFiles } from './data-folders.js';
import { shellStartScript } from '../shared/shell-command.js';

/** Paths services commonly answer health checks on, most specific first; `/` last, as a fallback. */
export const HEALTH_CANDIDATES = ['/health', '/healthz', '/-/ping', '/ping', '/api/health', '/status', '/'];

/** The candidates (not `/`) the project's source names as a string (`'/status'`, `"/healthz"`), in candidate order. */
export function healthPathsInSource(dir: string): string[] {
  const texts = sourceFiles(dir)
    .filter((file) => statSync(file).size <= MAX_FILE_BYTES)
    .map((file) => readFileSync(file, 'utf8'));
  return HEALTH_CANDIDATES.filter((path) => path !== '/' && texts.some((text) => [`'${path}'`, `"${path}"`, `\`${path}\``].some((quoted) => text.includes(quoted))));
}

export interface HealthFinding {
  path?: string;
  /** How it was found, or why it could not be. */
  reason: string;
}

/**
 * A copy of the working tree for the trial start, so that what the app writes where it runs (a runtime
 * config, a credential secret, a database file) never lands in the project: everything but .git, with the
 * installed dependencies linked rather than copied.
 */
function trialCopy(dir: string): string {
  const copy = mkdtempSync(join(tmpdir(), `ferry-init-trial-${basename(dir)}-`));
  cpSync(dir, copy, { recursive: true, filter: (from) => ![join(dir, '.git'), join(dir, 'node_modules')].includes(from) });
  if (existsSync(join(dir, 'node_modules'))) symlinkSync(join(dir, 'node_modules'), join(copy, 'node_modules'), 'dir');
  return copy;
}

/**
 * A trial start of the project as it is in the working tree (its node_modules and build output, if any), run
 * in a temporary copy of it on `port` (default: a free one): the first candidate path that answers 2xx is the
 * health path. Never on a project that cannot start yet.
 */
export async function findHealthPath(dir: string, start: string, options: { needsInstall: boolean; timeoutMs?: number; port?: number }): Promise<HealthFinding> {
  if (options.needsInstall && !existsSync(join(dir, 'node_modules'))) return { reason: 'no trial start: node_modules is not installed here (run npm install, then ferry init --force to probe)' };
  const port = options.port ?? (await freePort());
  const copy = trialCopy(dir);
  const env = { ...instanceBaseEnv(), NODE_ENV: 'production', PORT: String(port), HOST: '127.0.0.1', PATH: `${join(copy, 'node_modules', '.bin')}${delimiter}${process.env.PATH ?? ''}` };
  const child = spawn('/bin/sh', ['-c', shellStartScript(start)], { cwd: copy, env, detached: true, stdio: 'ignore' });
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  const where = `\`${start}\` on port ${port}, in a temporary copy of the project`;
  try {
    while (Date.now() < deadline && exited === undefined) {
      for (const path of HEALTH_CANDIDATES) {
        const probe = await probeHttp(port, path, 1000);
        if (probe.ok) return path === '/' ? { path, reason: `a trial start (${where}) answered ${probe.status} on /; none of the usual health paths did` } : await unlessAnyPath(dir, port, path, probe.status, where);
        if (probe.error === 'ECONNREFUSED') break;
      }
      await sleep(250);
    }
    return { reason: exited !== undefined ? `the trial start (${where}) exited with code ${exited} before it answered` : `the trial start (${where}) answered none of ${HEALTH_CANDIDATES.join(', ')} within ${options.timeoutMs ?? 15_000}ms` };
  } finally {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* gone already */
    }
    rmSync(copy, { recursive: true, force: true });
  }
}

/**
 * A 2xx on a usual health path says nothing when the app answers 2xx on any path (a catch-all route, a
 * single-page app): then the path its source names is taken (if it answers), else `/`, and init says so.
 */
async function unlessAnyPath(dir: string, port: number, path: string, status: number | null, where: string): Promise<HealthFinding> {
  const nowhere = `/ferry-init-no-such-path-${randomBytes(4).toString('hex')}`;
  const elsewhere = await probeHttp(port, nowhere, 1000);
  if (!elsewhere.ok) return { path, reason: `a trial start (${where}) answered ${status} on ${path}` };
  const anyPath = `a trial start (${where}) answered ${elsewhere.status} on any path (${path}, and ${nowhere} too)`;
  for (const named of healthPathsInSource(dir)) {
    if ((await probeHttp(port, named, 1000)).ok) return { path: named, reason: `${anyPath}; ${named} is the health path the source names` };
  }
  return { path: '/', reason: `${anyPath}, and the source names none of ${HEALTH_CANDIDATES.slice(0, -1).join(', ')}: / assumed; set health.path to a route that checks what the app needs` };
}
