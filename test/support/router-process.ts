import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { RouterClient } from '../../src/router/client.js';
import { isProcessAlive, sleep } from '../../src/util/sleep.js';
import { REPO_ROOT } from './project.js';

type ClientModule = typeof import('../../src/router/client.js');

/** The router client of a ferry build: this one's dist by default (the router process runs built code, as the agent starts it). */
export async function routerModule(root = REPO_ROOT): Promise<ClientModule> {
  return (await import(join(root, 'dist/router/client.js'))) as ClientModule;
}

/** Starts a router process (master and workers) on a state folder; returns once its workers are ready (a fresh router answers while they boot). */
export async function startRouterProcess(stateDir: string, options: { workers?: number } = {}): Promise<RouterClient> {
  const router = (await (await routerModule()).ensureRouter(stateDir, options)).client;
  const wanted = options.workers ?? availableParallelism();
  const deadline = Date.now() + 30_000;
  while ((await router.state()).workers.length < wanted) {
    if (Date.now() > deadline) throw new Error(`the router's ${wanted} workers were not ready within 30 s`);
    await sleep(25);
  }
  return router;
}

/** Stops whichever router serves the state folder now (after a handover, not the one started), its instances too, and waits for it to exit. */
export async function stopRouterProcess(router: RouterClient): Promise<void> {
  const pid = (await router.state().catch(() => undefined))?.pid;
  await router.shutdown(true).catch(() => undefined);
  while (pid && isProcessAlive(pid)) await sleep(50);
}
