import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestProject, type TestProject } from '../../../test/support/project.js';
import { checkCanRunAs, resolveUser } from './run-as.js';

describe('user: who a process instance runs as', () => {
  it('resolves names, ids and groups from the account files, and says what is missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-accounts-'));
    try {
      const files = { passwd: join(dir, 'passwd'), group: join(dir, 'group') };
      writeFileSync(files.passwd, 'root:x:0:0:root:/root:/bin/sh\nshop:x:1200:1300:shop:/srv/shop:/usr/sbin/nologin\n');
      writeFileSync(files.group, 'root:x:0:\nshop:x:1300:\nwww-data:x:33:\n');
      expect(resolveUser('shop', files)).toEqual({ name: 'shop', uid: 1200, gid: 1300, home: '/srv/shop' });
      expect(resolveUser('1200:www-data', files)).toEqual({ name: 'shop', uid: 1200, gid: 33, home: '/srv/shop' });
      expect(resolveUser('4000:4000', files)).toMatchObject({ uid: 4000, gid: 4000 });
      expect(() => resolveUser('ghost', files)).toThrow(/user: ghost names no account on this machine/);
      expect(() => resolveUser('shop:ghosts', files)).toThrow(/names no group ghosts/);
      expect(() => checkCanRunAs({ name: 'shop', uid: 1200, gid: 1300, home: '/' }, 1000)).toThrow(/needs ferry to run as root, and it runs as uid 1000/);
      expect(() => checkCanRunAs({ name: 'shop', uid: 1200, gid: 1300, home: '/' }, 0)).not.toThrow();
      expect(() => checkCanRunAs({ name: 'shop', uid: 1200, gid: 1300, home: '/' }, 1200)).not.toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const asRoot = process.getuid?.() === 0;
const nobody = (() => {
  try {
    return resolveUser('nobody');
  } catch {
    return undefined;
  }
})();
if (!asRoot || !nobody) console.warn('\n**********\n* SKIPPED: running instances as another user needs root and a `nobody` account\n**********\n');

describe.skipIf(!asRoot || !nobody)('an environment with user: nobody (process runtime, ferry as root)', () => {
  let project: TestProject;
  // The state where another user may pass through (the suite's own state folder is a 0700 temp folder).
  const stateParent = mkdtempSync(join(tmpdir(), 'ferry-user-state-'));
  chmodSync(stateParent, 0o711);
  beforeAll(async () => {
    project = await createTestProject();
    project.writeConfig((config) => {
      config.state_dir = join(stateParent, 'state');
      Object.assign(config.environments.production, { user: 'nobody', shared: ['data'], secrets: ['SHOP_TOKEN'] });
    });
    project.commit({}, 'run as nobody');
  });
  afterAll(async () => {
    await project?.cleanup();
    rmSync(stateParent, { recursive: true, force: true });
  });

  const url = (path: string) => `http://127.0.0.1:${project.ports.production}${path}`;
  const asNobody = (command: string, args: string[]) => spawnSync(command, args, { uid: nobody!.uid, gid: nobody!.gid, encoding: 'utf8' });

  it('runs the instance as that user; it writes its shared folder but cannot read the .env, the database or list the state', async () => {
    const deploy = await project.ferry(['deploy', 'production'], { SHOP_TOKEN: 'sekrit-token-1' });
    expect(deploy.code, deploy.stdout + deploy.stderr).toBe(0);
    expect(deploy.stdout).toMatch(/✓ build .*runs as nobody \(uid 65534, gid 65534\)/);
    const status = JSON.parse((await project.ferry(['status', 'production', '--json'])).stdout);
    const pid = status.environments[0].instances[0].pid as number;
    expect(readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(new RegExp(`^Uid:\\s+${nobody!.uid}\\s`, 'm'));
    expect(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')).toEqual(expect.arrayContaining([`HOME=${nobody!.home}`, 'USER=nobody', 'SHOP_TOKEN=sekrit-token-1']));
    expect((await fetch(url('/notes'), { method: 'POST', body: 'written as nobody' })).status).toBe(201);
    const stateDir = join(stateParent, 'state');
    expect(statSync(join(stateDir, 'shared/production/data')).uid).toBe(nobody!.uid);
    expect(asNobody('cat', [join(stateDir, 'releases/production/r1/.env')]).stderr).toMatch(/Permission denied/);
    expect(asNobody('cat', [join(stateDir, 'ferry.db')]).stderr).toMatch(/Permission denied/);
    expect(asNobody('ls', [stateDir]).stderr).toMatch(/Permission denied/);
    // node_modules-free example: the app's files are its own.
    expect(statSync(join(stateDir, 'releases/production/r1/app/server.js')).uid).toBe(nobody!.uid);
  });

  it('halts at the build step, before installing anything, when a folder above the state bars the user', async () => {
    const closed = mkdtempSync(join(tmpdir(), 'ferry-user-closed-'));
    expect((await project.ferry(['agent', 'stop'])).code).toBe(0); // the first state's agent, router and instance
    try {
      project.writeConfig((config) => {
        config.state_dir = join(closed, 'state');
        Object.assign(config.environments.production, { user: 'nobody' });
      });
      project.commit({}, 'state in a closed folder');
      const deploy = await project.ferry(['deploy', 'production', '--json']);
      // The build step halts the deployment (exit 1): nothing started, nothing else changed.
      expect(deploy.code).toBe(1);
      expect(JSON.parse(deploy.stdout)).toMatchObject({ outcome: 'halted', failedStep: 'build' });
      expect(deploy.stderr + deploy.stdout).toContain(`user: nobody cannot reach the releases in ${join(closed, 'state')}: ${closed} (mode 0700) does not let it through`);
    } finally {
      await project.ferry(['agent', 'stop']);
      rmSync(closed, { recursive: true, force: true });
    }
  });
});
