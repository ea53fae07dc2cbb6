import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lstatSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestProject, type TestProject } from '../../../test/support/project.js';

const notesOf = async (project: TestProject) => (await (await fetch(`http://127.0.0.1:${project.ports.production}/notes`)).json()) as { notes: string[]; release: string };
const useShared = (project: TestProject, shared: unknown[], extra: Record<string, unknown> = {}) =>
  project.writeConfig((config) => {
    Object.assign(config.environments.production, { shared, ...extra });
  });

describe('shared folders (process runtime)', () => {
  let project: TestProject;
  beforeAll(async () => {
    project = await createTestProject();
    useShared(project, ['data']);
    project.commit({}, 'shared data folder');
  });
  afterAll(() => project.cleanup());

  it('data written by one release is there for the next one and after a rollback; status shows where it lives', async () => {
    const url = `http://127.0.0.1:${project.ports.production}/notes`;
    const first = await project.ferry(['deploy', 'production']);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect((await fetch(url, { method: 'POST', body: 'written by r1' })).status).toBe(201);
    project.commit({ VERSION: '2\n' }, 'r2');
    const second = await project.ferry(['deploy', 'production']);
    expect(second.code, second.stdout).toBe(0);
    expect(second.stdout).toMatch(/✓ build .*shared: data → .*\/shared\/production\/data/);
    expect(await notesOf(project)).toEqual({ notes: ['written by r1'], release: 'r2' });
    expect(lstatSync(join(project.stateDir, 'releases/production/r2/app/data')).isSymbolicLink()).toBe(true);
    expect((await project.ferry(['status', 'production'])).stdout).toContain(`data: shared data → ${join(project.stateDir, 'shared/production')}/data`);
    const back = await project.ferry(['rollback', 'production', '--to', 'r1']);
    expect(back.code, back.stdout).toBe(0);
    expect(await notesOf(project)).toEqual({ notes: ['written by r1'], release: 'r1' });
  });
});

describe('without shared:', () => {
  let project: TestProject;
  beforeAll(async () => {
    project = await createTestProject();
  });
  afterAll(() => project.cleanup());

  it('what the serving app wrote into its release folder is named by the next deploy, with the shared: that keeps it; what its start built is not', async () => {
    // A start that builds before it serves (as a prestart does): each release writes its own bundle, which is not data.
    project.writeConfig((config) => {
      config.environments.production.start = `node -e "require('fs').mkdirSync('public/build', { recursive: true }); require('fs').writeFileSync('public/build/app.js', String(Date.now()))" && node server.js`;
    });
    project.commit({}, 'a start that builds first');
    const first = await project.ferry(['deploy', 'production']);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.stdout).not.toMatch(/wrote .* into its release folder/);
    expect((await fetch(`http://127.0.0.1:${project.ports.production}/notes`, { method: 'POST', body: 'lost?' })).status).toBe(201);
    project.commit({ VERSION: '2\n' }, 'r2');
    const second = await project.ferry(['deploy', 'production']);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.stdout).toMatch(/warning: (r\d+)'s app wrote 1 file\(s\) into its release folder while it ran \(data\/notes\.txt\); (r\d+) has a folder of its own and starts without them: keep a folder the app writes data to outside the releases with shared: \[data\] in ferry\.yml/);
    // What the warning says: the new release starts without the note.
    expect((await notesOf(project)).notes).toEqual([]);
  });
});

describe('the seed rule of a shared folder', () => {
  let project: TestProject;
  beforeAll(async () => {
    project = await createTestProject();
  });
  afterAll(() => project.cleanup());

  it('seed once (the default): the commit fills the empty folder at the first deploy; a later committed change is not used, and deploy, status and history say so', async () => {
    useShared(project, ['data']);
    // The example ignores data/ (what it writes at run time); this project commits files there.
    project.commit({ '.gitignore': '.ferry/\nnode_modules/\n', 'data/notes.txt': 'committed v1\n' }, 'notes in the commit');
    expect((await project.ferry(['deploy', 'production'])).code).toBe(0);
    expect((await notesOf(project)).notes).toEqual(['committed v1']);

    project.commit({ 'data/notes.txt': 'committed v2\n' }, 'a committed change to shared data');
    const deployed = await project.ferry(['deploy', 'production']);
    expect(deployed.code, deployed.stdout + deployed.stderr).toBe(0);
    const warning = /warning: (r\d+)'s commit carries 1 file\(s\) under the shared folder data\/ that differ from the shared copies, which the app sees instead \(data\/notes\.txt; seed: once, and the shared folder already holds data\)\. To ship them, set shared: \[\{ path: data, seed: always \}\]/;
    expect(deployed.stdout).toMatch(warning);
    // Served: the shared copy, not the commit's.
    expect((await notesOf(project)).notes).toEqual(['committed v1']);
    expect((await project.ferry(['status', 'production'])).stdout).toMatch(new RegExp(`^  ${warning.source}`, 'm'));
    expect((await project.ferry(['history', 'production', '-n', '1'])).stdout).toMatch(new RegExp(`^    ${warning.source}`, 'm'));
  });

  it('seed always: the commit’s files replace the shared copies at each deploy; files only the shared folder has stay', async () => {
    useShared(project, [{ path: 'data', seed: 'always' }]);
    project.commit({ 'data/notes.txt': 'committed v3\n' }, 'seed always');
    const shared = join(project.stateDir, 'shared/production/data');
    writeFileSync(join(shared, 'written-at-run-time.txt'), 'kept');
    const deployed = await project.ferry(['deploy', 'production']);
    expect(deployed.code, deployed.stdout + deployed.stderr).toBe(0);
    expect(deployed.stdout).toMatch(/shared: data → .* \(1 file\(s\) of the commit written over the shared copies: seed always\)/);
    expect(deployed.stdout).not.toMatch(/warning/);
    expect((await notesOf(project)).notes).toEqual(['committed v3']);
    expect(readFileSync(join(shared, 'notes.txt'), 'utf8')).toBe('committed v3\n');
    expect(readFileSync(join(shared, 'written-at-run-time.txt'), 'utf8')).toBe('kept');
  });

  it('seed never: the commit’s files are never used, not even on an empty folder, and the deploy says so', async () => {
    project.writeConfig((config) => {
      config.environments.staging.shared = [{ path: 'data', seed: 'never' }];
    });
    project.commit({}, 'staging never seeds');
    const deployed = await project.ferry(['deploy', 'staging']);
    expect(deployed.code, deployed.stdout + deployed.stderr).toBe(0);
    expect(deployed.stdout).toMatch(/warning: r\d+'s commit carries 1 file\(s\) under the shared folder data\/ .*\(data\/notes\.txt; seed: never\)/);
    const staging = (await (await fetch(`http://127.0.0.1:${project.ports.staging}/notes`)).json()) as { notes: string[] };
    expect(staging.notes).toEqual([]);
  });

  it('two releases writing one shared folder during a blue-green deploy: the deploy warns and suggests strategy: recreate', async () => {
    useShared(project, [{ path: 'data', seed: 'never' }], { watch: '2s' });
    project.commit({ 'data/notes.txt': null }, 'no committed notes');
    expect((await project.ferry(['deploy', 'production'])).code).toBe(0);
    // A writer on the old release through the whole deploy: every 50 ms, a note.
    let writing = true;
    const writer = (async () => {
      while (writing) {
        await fetch(`http://127.0.0.1:${project.ports.production}/notes`, { method: 'POST', body: 'a write' }).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    project.commit({ VERSION: 'overlap' }, 'deploy while writing');
    const deployed = await project.ferry(['deploy', 'production']);
    writing = false;
    await writer;
    expect(deployed.code, deployed.stdout + deployed.stderr).toBe(0);
    expect(deployed.stdout).toMatch(/warning: 1 file\(s\) changed in production's shared data while r\d+ and r\d+ both ran \(from the start of the new instances to the end of the drain\): .*\/shared\/production\/data\/notes\.txt\. Two releases writing the same files can lose writes .* set strategy: recreate for production/);
  });
});
