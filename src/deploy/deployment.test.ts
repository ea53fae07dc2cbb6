import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.js';
import type { RouterClient, RouterSnapshot } from '../router/client.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Runtimes } from '../runtime/registry.js';
import { statePaths } from '../state/paths.js';
import { openDb } from '../store/db.js';
import { Store } from '../store/store.js';
import { Deployment } from './deployment.js';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A router that answers its first `answers` state reads (r1 serving on :3000), then cannot be reached. */
function routerLost(answers: number): RouterClient {
  let calls = 0;
  const snapshot: RouterSnapshot = {
    pid: 1,
    build: 'test',
    workers: [],
    routes: { production: { env: 'production', port: 3000, release: 'r1', upstreams: ['production-r1-d1-1'] } },
    counters: {},
    instances: { 'production-r1-d1-1': { id: 'production-r1-d1-1', env: 'production', release: 'r1', port: 40001, cwd: '/', command: 'x', vars: {}, logFile: '/dev/null', pid: 1, state: 'running', startedAt: 0, restarts: 0, exitCode: null, signal: null, inflight: 0, upgraded: 0 } },
  };
  return {
    state: async () => {
      if (++calls > answers) throw new Error('connect ENOENT router.sock');
      return snapshot;
    },
  } as unknown as RouterClient;
}

describe('a deployment', () => {
  it('releases the environment lock even when the router cannot be reached while the outcome is read', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-deployment-'));
    const store = new Store(openDb(join(dir, 'ferry.db')));
    const runtime = { name: 'process', needsPrepare: () => false } as unknown as Runtime;
    const runtimes = { get: () => runtime, of: () => runtime } as unknown as Runtimes;
    const config = configSchema.parse({ app: 'locked', environments: { production: { port: 3000, start: 'node server.js' } } });
    // Three reads succeed (what serves, at the start and under the lock, and the route); the release step then
    // fails (there is no commit to build), and from there the router is gone.
    const deployment = new Deployment({ store, router: routerLost(3), runtimes, paths: statePaths(dir, join(dir, 'state')), projectDir: dir }, { env: 'production', kind: 'deploy', config, secrets: {} }, () => undefined);
    await deployment.run().catch(() => undefined);
    expect(store.lockOf('production')).toBeUndefined();
    store.db.close();
  });
});
