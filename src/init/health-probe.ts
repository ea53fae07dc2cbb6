import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { probeHttp } from '../health/probe.js';
import { instanceBaseEnv } from '../runtime/base-env.js';
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
 * A trial start of the project as it is in the working tree (its node_modules and build output, if any):
 * the first candidate path that answers 2xx is the health path. Never on a project that cannot start yet.
 */
export async function findHealthPath(dir: string, start: string, options: { needsInstall: boolean; timeoutMs?: number }): Promise<HealthFinding> {
  if (options.needsInstall && !existsSync(join(dir, 'node_modules'))) return { reason: 'no trial start: node_modules is not installed here (run npm install, then ferry init --force to probe)' };
  const port = await freePort();
  const env = { ...instanceBaseEnv(), NODE_ENV: 'production', PORT: String(port), HOST: '127.0.0.1', PATH: `${join(dir, 'node_modules', '.bin')}${delimiter}${process.env.PATH ?? ''}` };
  const child = spawn('/bin/sh', ['-c', `exec ${start}`], { cwd: dir, env, detached: true, stdio: 'ignore' });
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  try {
    while (Date.now() < deadline && exited === undefined) {
      for (const path of HEALTH_CANDIDATES) {
        const probe = await probeHttp(port, path, 1000);
        if (probe.ok) return { path, reason: `a trial start (\`${start}\` on port ${port}) answered ${probe.status} on ${path}${path === '/' ? '; none of the usual health paths did' : ''}` };
        if (probe.error === 'ECONNREFUSED') break;
      }
      await sleep(250);
    }
    return { reason: exited !== undefined ? `the trial start (\`${start}\`) exited with code ${exited} before it answered` : `the trial start (\`${start}\`) answered none of ${HEALTH_CANDIDATES.join(', ')} within ${options.timeoutMs ?? 15_000}ms` };
  } finally {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* gone already */
    }
  }
}
