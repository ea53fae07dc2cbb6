import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { FERRY_BIN } from '../../test/support/project.js';
import { statePaths } from '../state/paths.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-ci-'));
  writeFileSync(join(dir, 'package.json'), '{"name":"pipe","version":"1.0.0"}\n');
  writeFileSync(join(dir, 'src.txt'), 'v1\n');
  execFileSync('git', ['init', '-q'], { cwd: dir });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** These synthetic stages stand in for checks: each counts as a test stage unless it says otherwise (see the no-tests case). */
function pipeline(stages: Record<string, Record<string, unknown>>, extra: Record<string, unknown> = {}) {
  stages = Object.fromEntries(Object.entries(stages).map(([name, stage]) => [name, { tests: true, ...stage }]));
  writeFileSync(join(dir, 'ferry.yml'), stringify({ app: 'pipe', pipeline: { stages, ...extra }, environments: { production: { port: 3997, start: 'true' } } }));
}

function ferry(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [FERRY_BIN, 'ci', ...args, '--project', dir], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
const states = (out: string) => Object.fromEntries(JSON.parse(out).stages.map((s: any) => [s.name, s.state]));

describe('ferry ci', () => {
  it('runs independent stages at once, then what needs them; a second run with nothing changed is all cached', async () => {
    pipeline({
      a: { run: 'sleep 1 && echo a-done' },
      b: { run: 'sleep 1' },
      c: { run: 'cat src.txt', needs: ['a', 'b'] },
    });
    const first = await ferry(['--json', '--concurrency', '2']);
    expect(first.code, first.stderr).toBe(0);
    const run1 = JSON.parse(first.stdout);
    expect(states(first.stdout)).toEqual({ a: 'succeeded', b: 'succeeded', c: 'succeeded' });
    expect(run1.wallMs).toBeLessThan(run1.stageSumMs); // a and b overlapped
    expect(readFileSync(join(statePaths(dir).ciRun(run1.runId), 'a.log'), 'utf8')).toBe('a-done\n');

    const second = await ferry(['--json']);
    expect(states(second.stdout)).toEqual({ a: 'cached', b: 'cached', c: 'cached' });
    expect(JSON.parse(second.stdout).stages[0].detail).toBe(`inputs unchanged since run #${run1.runId}`);

    writeFileSync(join(dir, 'src.txt'), 'v2\n'); // every stage reads every file by default
    expect(states((await ferry(['--json'])).stdout)).toEqual({ a: 'succeeded', b: 'succeeded', c: 'succeeded' });
  });

  it('reuses a stage whose own inputs did not change, and runs again one whose did', async () => {
    writeFileSync(join(dir, 'other.txt'), '1\n');
    pipeline({ reads_src: { run: 'cat src.txt', inputs: ['src.txt'] }, reads_other: { run: 'cat other.txt', inputs: ['other.txt'] } });
    expect((await ferry([])).code).toBe(0);
    writeFileSync(join(dir, 'other.txt'), '2\n');
    const table = await ferry([]);
    expect(table.stdout).toMatch(/reads_src\s+cached\s+0\.0s\s+yes/);
    expect(table.stdout).toMatch(/reads_other\s+succeeded\s+\d+\.\ds\s+no/);
  });

  it('fail-fast cancels the running stages and starts no more; without it, only dependents are skipped', async () => {
    pipeline({ fails: { run: 'sleep 0.3; echo broken >&2; exit 4' }, slow: { run: 'sleep 20' }, after: { run: 'true', needs: ['fails'] }, later: { run: 'true', needs: ['slow'] } });
    const startedAt = Date.now();
    const failFast = await ferry(['--json', '--concurrency', '2']);
    expect(failFast.code).toBe(1);
    expect(Date.now() - startedAt).toBeLessThan(15_000);
    expect(states(failFast.stdout)).toEqual({ fails: 'failed', slow: 'cancelled', after: 'cancelled', later: 'cancelled' });
    expect(JSON.parse(failFast.stdout).stages[0].detail).toMatch(/^exit 4; log .*fails\.log\nbroken$/);

    pipeline({ fails: { run: 'exit 4' }, ok: { run: 'true' }, after: { run: 'true', needs: ['fails'] }, later: { run: 'true', needs: ['ok'] } }, { fail_fast: false });
    const keepGoing = await ferry(['--json']);
    expect(keepGoing.code).toBe(1);
    expect(states(keepGoing.stdout)).toEqual({ fails: 'failed', ok: 'succeeded', after: 'skipped', later: 'succeeded' });
  });

  it('stops a stage at its timeout; --stage runs a stage with what it needs; a cycle is a configuration error', async () => {
    pipeline({ hangs: { run: 'sleep 30', timeout: '1s' }, base: { run: 'true' }, top: { run: 'true', needs: ['base'] }, other: { run: 'true' } });
    const selected = await ferry(['--json', '--stage', 'top']);
    expect(states(selected.stdout)).toEqual({ base: 'succeeded', top: 'succeeded' });
    const hung = await ferry(['--json', '--stage', 'hangs']);
    expect(hung.code).toBe(1);
    expect(JSON.parse(hung.stdout).stages[0].detail).toMatch(/^timed out after 1s/);

    pipeline({ x: { run: 'true', needs: ['y'] }, y: { run: 'true', needs: ['x'] } });
    const cycle = await ferry([]);
    expect(cycle.code).toBe(2);
    expect(cycle.stderr).toMatch(/stages depend on each other in a cycle: x → y → x/);
  });

  it('with fewer slots than ready stages, starts the one heading the longest chain first, from the last run', async () => {
    pipeline({ quick: { run: 'true' }, slow: { run: 'sleep 1' }, after_slow: { run: 'true', needs: ['slow'] } });
    const starts = (out: string) => [...out.matchAll(/^→ (\S+)/gm)].map((m) => m[1]);
    const first = await ferry(['--concurrency', '1', '--no-cache']);
    expect(first.code, first.stderr).toBe(0);
    expect(starts(first.stdout)).toEqual(['quick', 'slow', 'after_slow']); // no history yet: dependency order
    const second = await ferry(['--concurrency', '1', '--no-cache']);
    // slow heads the longest chain; after it, quick and after_slow (both `true`) go in the order their last durations give.
    expect(starts(second.stdout)[0]).toBe('slow');
    expect(starts(second.stdout).sort()).toEqual(['after_slow', 'quick', 'slow']);
  });

  it('says which files the stages wrote that git does not ignore (they would defeat the cache)', async () => {
    pipeline({ emits: { run: 'mkdir -p out && echo x > out/a.txt' } });
    const first = await ferry([]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout + first.stderr).toMatch(/the stages wrote 1 file\(s\) that git does not ignore: out\/a\.txt\. They count as inputs, so the next run will find nothing cached: add them to \.gitignore\./);
    writeFileSync(join(dir, '.gitignore'), 'out/\n');
    const ignored = await ferry(['--no-cache']);
    expect(ignored.stdout + ignored.stderr).not.toMatch(/does not ignore/);
  });

  it('outside git, runs every stage every time (it cannot list the inputs) and says so', async () => {
    rmSync(join(dir, '.git'), { recursive: true, force: true });
    pipeline({ a: { run: 'true' } });
    expect((await ferry([])).code).toBe(0);
    const again = await ferry(['--json']);
    expect(again.stderr).toMatch(/not a git repository: every stage runs/);
    expect(states(again.stdout)).toEqual({ a: 'succeeded' });
  });

  it('without pipeline stages, plans the defaults from package.json and says why it skips what the project lacks', async () => {
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'pipe', version: '1.0.0', scripts: { test: 'echo tested', build: 'echo built' } }));
    writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'pipe', lockfileVersion: 3, packages: { '': { name: 'pipe' } } }));
    const result = await ferry(['--json', '--stage', 'build']);
    expect(result.code, result.stderr).toBe(0);
    const stages = JSON.parse(result.stdout).stages;
    expect(stages.map((s: any) => [s.name, s.state])).toEqual([['lint', 'skipped'], ['typecheck', 'skipped'], ['test', 'succeeded'], ['build', 'succeeded']]);
    expect(stages[0].detail).toBe('package.json has no "lint" script');
  });

  it('the default image stages are skipped when no environment runs containers; pipeline.skip turns off one default stage and keeps the rest; an unknown name is refused', async () => {
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'pipe', version: '1.0.0', scripts: { test: 'echo tested', coverage: 'exit 1' } }));
    writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'pipe', lockfileVersion: 3, packages: { '': { name: 'pipe' } } }));
    writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\n');
    const config = (pipeline: Record<string, unknown>) => writeFileSync(join(dir, 'ferry.yml'), stringify({ app: 'pipe', pipeline, environments: { production: { port: 3997, start: 'true' } } }));
    config({ skip: ['coverage'] });
    const result = await ferry(['--json', '--stage', 'image-scan', '--stage', 'coverage', '--stage', 'test']);
    expect(result.code, result.stderr).toBe(0);
    const stages = Object.fromEntries(JSON.parse(result.stdout).stages.map((s: any) => [s.name, s]));
    expect(stages.image).toMatchObject({ state: 'skipped', detail: 'no environment runs containers (every one has runtime: process): no deploy would use the image' });
    expect(stages['image-scan']).toMatchObject({ state: 'skipped' });
    expect(stages.coverage).toMatchObject({ state: 'skipped', detail: 'turned off by pipeline.skip in ferry.yml' });
    expect(stages.test).toMatchObject({ state: 'succeeded' });
    config({ skip: ['covrage'] });
    const refused = await ferry([]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('pipeline.skip names covrage, which is not a stage of this pipeline (lint, typecheck, audit, licenses, test, coverage, build, image, image-scan)');
  });

  it('a run that tested nothing and a scan that could not scan are UNCHECKED: exit 13, stored so, never cached', async () => {
    // The project has no test script (so `test` is skipped), and its audit cannot reach the advisory database
    // (the recorded npm error stands in for the registry's 405 here).
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'pipe', version: '1.0.0', scripts: { build: 'echo built' } }));
    writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'pipe', lockfileVersion: 3, packages: { '': { name: 'pipe' } } }));
    writeFileSync(join(dir, 'audit-405.json'), JSON.stringify({ error: { code: 'E405', summary: '405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk' } }));
    writeFileSync(join(dir, 'ferry.yml'), stringify({ app: 'pipe', pipeline: { stages: { audit: { run: 'ferry scan --tool npm-audit --audit-report audit-405.json' }, build: { run: 'npm run build' } } }, environments: { production: { port: 3997, start: 'true' } } }));
    const first = await ferry([]);
    expect(first.code, first.stdout + first.stderr).toBe(13);
    expect(first.stdout).toMatch(/^audit\s+unchecked\s+.*not scanned/m);
    expect(first.stdout).toMatch(/pipeline run #\d+ UNCHECKED: nothing failed, but audit: .*not scanned.*; nothing tested: the pipeline has no test stage .*\(exit 13\)/);
    const second = JSON.parse((await ferry(['--json'])).stdout);
    expect(second).toMatchObject({ outcome: 'unchecked', exitCode: 13 });
    expect(states(JSON.stringify(second))).toEqual({ audit: 'unchecked', build: 'cached' });
    // --deploy deploys nothing on such a run, and says what to set to allow it.
    const deploy = await ferry(['--deploy', '--branch', 'main']);
    expect(deploy.code).toBe(13);
    expect(deploy.stdout + deploy.stderr).toMatch(/not deploying: the pipeline checked less than it must .* set pipeline\.deploy_unchecked in ferry\.yml to the reason/);
  });
});
