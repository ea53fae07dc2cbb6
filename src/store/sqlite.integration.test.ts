import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FERRY_BIN } from '../../test/support/project.js';
import { openDb } from './db.js';
import { Store } from './store.js';

const hasBuiltinSqlite = Boolean((process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule?.('node:sqlite'));
if (!hasBuiltinSqlite) console.warn(`\n*** SKIPPED: the node:sqlite driver's tests: Node ${process.versions.node} has no node:sqlite (Node 22.13 and later; .ci/run runs the suite on Node 24 too) ***\n`);

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-sqlite-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  delete process.env.FERRY_SQLITE;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

// better-sqlite3 12 aborts on Node 24 (see sqlite.ts): there, ferry never chooses it and neither does this test.
// On a Node it was not built for (.ci/run runs this file on Node 22 with the Node 20 build) it cannot load.
const nodeMajor = Number(process.versions.node.split('.')[0]);
const nativeLoads = (() => {
  try {
    new (createRequire(import.meta.url)('better-sqlite3'))(':memory:').close();
    return true;
  } catch {
    return false;
  }
})();
if (nodeMajor >= 24 || !nativeLoads) console.warn(`\n*** SKIPPED: the better-sqlite3 driver's tests: ${nodeMajor >= 24 ? 'ferry does not use it on Node 24' : `it does not load on Node ${process.versions.node}`} ***\n`);
const drivers = [...(nodeMajor < 24 && nativeLoads ? [{ name: 'better-sqlite3', env: 'better-sqlite3' }] : []), ...(hasBuiltinSqlite ? [{ name: 'node:sqlite', env: 'node:sqlite' }] : [])];

describe.each(drivers)('the store on $name', ({ env }) => {
  it('migrates, writes in transactions, rolls a failed one back, and keeps the file private', () => {
    if (env) process.env.FERRY_SQLITE = env;
    const path = join(tempDir(), 'state', 'ferry.db');
    const store = new Store(openDb(path));
    expect(store.db.pragma('user_version', { simple: true })).toBeGreaterThanOrEqual(4);
    const release = store.createRelease({ env: 'production', commit: 'a'.repeat(40), ref: 'HEAD', branch: 'main', subject: 'first', dir: (id) => `/releases/${id}`, configJson: '{}' });
    expect(release).toMatchObject({ id: 'r1', dir: '/releases/r1', branch: 'main', subject: 'first', state: 'building' });
    const deployment = store.createDeployment({ env: 'production', kind: 'deploy', previousReleaseId: null });
    expect(store.tryLock('production', deployment.id, 60_000, () => true)).toEqual({ acquired: true });
    expect(store.tryLock('production', deployment.id + 1, 60_000, () => true).acquired).toBe(false);
    // A transaction that throws leaves nothing behind, nested or not.
    const failing = store.db.transaction(() => {
      store.db.prepare(`UPDATE releases SET state = 'ready' WHERE id = 1`).run();
      store.db.transaction(() => store.db.prepare(`UPDATE releases SET subject = 'inner' WHERE id = 1`).run())();
      throw new Error('boom');
    });
    expect(() => failing()).toThrow('boom');
    expect(store.release('r1')).toMatchObject({ state: 'building', subject: 'first' });
    store.db.close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    // Reopened: the migrations do not run twice, the rows are there.
    const again = new Store(openDb(path));
    expect(again.release('r1')?.commit).toBe('a'.repeat(40));
    again.db.close();
  });
});

describe('a better-sqlite3 that does not load on this Node', () => {
  it('is not needed on Node 24, falls back to node:sqlite on 22, and on 20 says what to do without a stack trace', () => {
    const dir = tempDir();
    // The error Node gives a native module built for another Node, raised where ferry loads better-sqlite3.
    const preload = join(dir, 'broken-native.cjs');
    writeFileSync(
      preload,
      `const Module = require('module'); const load = Module._load;
       Module._load = function (request, ...rest) {
         if (request === 'better-sqlite3') throw new Error("The module '/x/better_sqlite3.node'\\nwas compiled against a different Node.js version using\\nNODE_MODULE_VERSION 115. This version of Node.js requires\\nNODE_MODULE_VERSION 137.");
         return load.call(this, request, ...rest);
       };`,
    );
    writeFileSync(join(dir, 'ferry.yml'), 'app: sqlite-probe\nenvironments:\n  production:\n    port: 3999\n    start: node server.js\n');
    writeFileSync(join(dir, 'package.json'), '{"name":"sqlite-probe","version":"1.0.0"}');
    const result = spawnSync(process.execPath, [FERRY_BIN, 'ci', '--json', '--project', dir], {
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: `--require ${preload}`, XDG_STATE_HOME: join(dir, 'state') },
      timeout: 120_000,
    });
    if (nodeMajor >= 24) {
      expect(result.stderr).not.toContain('better-sqlite3');
      expect(JSON.parse(result.stdout)).toMatchObject({ runId: 1 });
    } else if (hasBuiltinSqlite) {
      // The pipeline ran and stored its run in the database node:sqlite opened.
      expect(result.stderr).toContain(`better-sqlite3 does not load on Node ${process.versions.node}: The module '/x/better_sqlite3.node' was compiled against a different Node.js version`);
      expect(result.stderr).toContain("using Node's built-in node:sqlite instead");
      expect(JSON.parse(result.stdout)).toMatchObject({ runId: 1, stages: expect.arrayContaining([expect.objectContaining({ name: 'lint', state: 'skipped' })]) });
    } else {
      expect(result.status, result.stderr + result.stdout).toBe(3);
      const error = JSON.parse(result.stdout).error;
      expect(error.code).toBe('SQLITE_UNAVAILABLE');
      expect(error.message).toContain(`better-sqlite3 does not load on Node ${process.versions.node}: The module '/x/better_sqlite3.node' was compiled against a different Node.js version`);
      expect(error.hint).toContain('npm rebuild better-sqlite3');
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
