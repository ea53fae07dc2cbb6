import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, delimiter, join } from 'node:path';
import { probeHttp } from '../health/probe.js';
import { instanceBaseEnv } from '../shared/process-env.js';
import { freePort } from '../util/ports.js';
import { sleep } from '../util/sleep.js';

/** Paths services commonly answer health checks on, most specific first; `/` last, as a fallback. */
export const HEALTH_CANDIDATES = ['/health', '/healthz', '/-/ping', '/ping', '/api/health', '/status', '/'];

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
  const child = spawn('/bin/sh', ['-c', `exec ${start}`], { cwd: copy, env, detached: true, stdio: 'ignore' });
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  const where = `\`${start}\` on port ${port}, in a temporary copy of the project`;
  try {
    while (Date.now() < deadline && exited === undefined) {
      for (const path of HEALTH_CANDIDATES) {
        const probe = await probeHttp(port, path, 1000);
        if (probe.ok) return { path, reason: `a trial start (${where}) answered ${probe.status} on ${path}${path === '/' ? '; none of the usual health paths did' : ''}` };
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
