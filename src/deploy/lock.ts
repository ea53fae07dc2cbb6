import type { Store } from '../store/store.js';
import { isProcessAlive, sleep } from '../util/sleep.js';
import { FerryError } from '../util/errors.js';

export interface LockOptions {
  waitTimeoutMs: number;
  staleAfterMs: number;
  heartbeatIntervalMs: number;
  pollIntervalMs?: number;
  onWait: (message: string) => void;
}

/** Takes the environment's deploy lock (waiting a bounded time, with a message) and keeps it alive with a heartbeat. */
export async function acquireDeployLock(store: Store, env: string, deploymentId: number, options: LockOptions): Promise<() => void> {
  const startedAt = Date.now();
  let announced = false;
  for (;;) {
    const attempt = store.tryLock(env, deploymentId, options.staleAfterMs, isProcessAlive);
    if (attempt.acquired) break;
    const holder = attempt.holder;
    if (!announced) {
      announced = true;
      options.onWait(`waiting for the ${env} lock, held by deployment ${holder.deployment_id} since ${new Date(holder.acquired_at).toISOString()} (up to ${Math.round(options.waitTimeoutMs / 1000)}s)`);
    }
    if (Date.now() - startedAt > options.waitTimeoutMs) {
      throw new FerryError({
        code: 'LOCK_TIMEOUT',
        message: `the ${env} lock is still held by deployment ${holder.deployment_id} after ${Math.round(options.waitTimeoutMs / 1000)}s; nothing was changed`,
        hint: `Watch it with \`ferry status ${env}\`, then deploy again.`,
      });
    }
    await sleep(options.pollIntervalMs ?? 200);
  }
  const heartbeat = setInterval(() => store.heartbeatLock(env, deploymentId), options.heartbeatIntervalMs);
  heartbeat.unref();
  return () => {
    clearInterval(heartbeat);
    store.releaseLock(env, deploymentId);
  };
}
