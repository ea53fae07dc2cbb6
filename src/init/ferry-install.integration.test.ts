import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { FERRY_BIN, REPO_ROOT } from '../../test/support/project.js';
import { FERRY_VERSION } from './ferry-source.js';

const root = mkdtempSync(join(tmpdir(), 'ferry-install-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Step {
  name?: string;
  run?: string;
}

describe("the workflows' install step", () => {
  it('installs the packed ferry in a clean folder, and that ferry runs the pipeline step as the workflow calls it', () => {
    // ferry as a team would host it: the tarball `npm pack` makes (dist/ is built by the suite's pretest).
    const pack = spawnSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', root], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(pack.status, pack.stderr).toBe(0);
    const tarball = join(root, pack.stdout.trim().split('\n').at(-1)!);

    const project = join(root, 'project');
    cpSync(join(REPO_ROOT, 'example'), project, { recursive: true, filter: (path) => !path.includes('node_modules') });
    writeFileSync(join(project, 'ferry.yml'), `app: hello\nworkflow:\n  ferry: ${tarball}\nenvironments:\n  production:\n    port: 3000\n    start: node server.js\n`);
    const init = spawnSync(process.execPath, [FERRY_BIN, 'init', '--workflows', '--project', project], { encoding: 'utf8' });
    expect(init.status, init.stderr).toBe(0);
    expect(init.stdout).toContain(`assumed  ferry in CI: npm install --global ${tarball}  (workflow.ferry in ferry.yml)`);

    for (const workflow of readdirSync(join(project, '.github/workflows'))) {
      const jobs = Object.values(parse(readFileSync(join(project, '.github/workflows', workflow), 'utf8')).jobs) as Array<{ steps: Step[] }>;
      const steps = jobs.flatMap((job) => job.steps);
      const install = steps.findIndex((step) => step.name?.startsWith('Install ferry'));
      expect(steps[install]?.name, workflow).toBe(`Install ferry ${FERRY_VERSION} (the version that wrote this workflow)`);
      // ferry is installed before any step calls it, and the steps call the installed `ferry`, never `npx ferry`.
      expect(steps.findIndex((step) => /^ferry /.test(step.run ?? '') || /\bferry (rollback|ci)\b/.test(step.run ?? '')), workflow).toBeGreaterThan(install);
      expect(steps.some((step) => step.run?.includes('npx ferry')), workflow).toBe(false);
    }

    const ci = parse(readFileSync(join(project, '.github/workflows/ci.yml'), 'utf8')).jobs.pipeline.steps as Step[];
    const installStep = ci.find((step) => step.name?.startsWith('Install ferry'))!;
    // The step runs as the runner would run it (bash), in a clean folder, into a prefix of its own; npm's cache
    // holds ferry's dependencies from this checkout's own install, so no registry is needed.
    const prefix = join(root, 'prefix');
    const clean = mkdtempSync(join(root, 'clean-'));
    const env = { ...process.env, npm_config_prefix: prefix, npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false' };
    const installed = spawnSync('bash', ['-e', '-c', installStep.run!], { cwd: clean, env, encoding: 'utf8', timeout: 300_000 });
    expect(installed.status, installed.stderr).toBe(0);
    const path = `${join(prefix, 'bin')}:${process.env.PATH}`;
    const version = spawnSync('ferry', ['--version'], { env: { ...env, PATH: path }, encoding: 'utf8' });
    expect(version.stdout.trim()).toBe(FERRY_VERSION);

    // The pipeline step, as written, with the installed ferry: the run is stored and its table printed.
    const pipeline = ci.find((step) => step.name === 'Pipeline (ferry ci)')!;
    spawnSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: project });
    const run = spawnSync('bash', ['-e', '-c', pipeline.run!], { cwd: project, env: { ...env, PATH: path, XDG_STATE_HOME: join(root, 'state') }, encoding: 'utf8', timeout: 300_000 });
    expect(run.stdout + run.stderr).toMatch(/pipeline run #1: lint, typecheck, audit, licenses, test/);
    expect(run.stdout + run.stderr).toMatch(/✓ test succeeded/);
  }, 600_000);
});
