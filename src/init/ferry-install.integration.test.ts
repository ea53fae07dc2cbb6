import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { FERRY_BIN, REPO_ROOT } from '../../test/support/project.js';
import { FERRY_VERSION } from '../shared/build-info.js';

const root = mkdtempSync(join(tmpdir(), 'ferry-install-'));

/**
 * better-sqlite3's prebuilt binary, fetched as its users fetch it (prebuild-install downloads it from its
 * GitHub release): here from a loopback server that holds this checkout's own build of it, for the Node ABI it
 * was built for only. Another Node (the suite's Node 24 pass) finds none there and compiles, as it would.
 */
let prebuildsServed = 0;
let prebuildMade = false;
const prebuilds = http.createServer((req, res) => {
  const file = join(root, 'prebuilds', (req.url ?? '').replace(/^\/v[^/]+\//, ''));
  if (existsSync(file) && !req.url?.includes('..')) {
    prebuildsServed += 1;
    return void res.writeHead(200, { 'content-type': 'application/gzip' }).end(readFileSync(file));
  }
  res.writeHead(404).end();
});
beforeAll(async () => {
  const sqlite = join(REPO_ROOT, 'node_modules/better-sqlite3');
  const { version } = JSON.parse(readFileSync(join(sqlite, 'package.json'), 'utf8')) as { version: string };
  // Opened in a child: a build for another ABI would abort this process. (Requiring the module alone is not enough:
  // it loads its binary at the first open, so a build for Node 20 was once served as Node 24's.)
  if (spawnSync(process.execPath, ['-e', "new (require('better-sqlite3'))(':memory:').close()"], { cwd: REPO_ROOT }).status === 0) {
    mkdirSync(join(root, 'prebuilds'));
    const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-linux-${process.arch}.tar.gz`;
    expect(spawnSync('tar', ['-czf', join(root, 'prebuilds', name), '-C', sqlite, 'build/Release/better_sqlite3.node']).status).toBe(0);
    prebuildMade = true;
  }
  await new Promise<void>((resolve) => prebuilds.listen(0, '127.0.0.1', resolve));
});
afterAll(() => {
  prebuilds.close();
  rmSync(root, { recursive: true, force: true });
});

interface Step {
  name?: string;
  run?: string;
  env?: Record<string, string>;
}

/** npm as CI or a user runs it, into a prefix of its own; npm's cache (from this checkout's install) spares the registry where it can, and the prebuild server GitHub. */
const npmEnv = (prefix: string) => ({
  ...process.env,
  npm_config_prefix: prefix,
  npm_config_prefer_offline: 'true',
  npm_config_update_notifier: 'false',
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_better_sqlite3_binary_host: `http://127.0.0.1:${(prebuilds.address() as AddressInfo).port}`,
});

/** ferry as a team would host it: the tarball `npm pack` makes (dist/ is built by the suite's pretest), with its integrity. */
let tarball: string;
let integrity: string;
/** The install step a workflow gets for a git source (set by the test that writes one). */
let gitInstallStep: Step;
beforeAll(() => {
  const pack = spawnSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', root], { cwd: REPO_ROOT, encoding: 'utf8' });
  expect(pack.status, pack.stderr).toBe(0);
  const [packed] = JSON.parse(pack.stdout) as Array<{ filename: string; integrity: string }>;
  tarball = join(root, packed!.filename);
  integrity = packed!.integrity;
});

/**
 * A script as a user or a workflow step runs it: bash, without blocking this process (which serves the prebuilt
 * binary: a spawnSync here left prebuild-install without an answer, and better-sqlite3 was compiled instead).
 */
function bash(script: string, options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-e', '-c', script], { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const stepsOf = (file: string) => (Object.values(parse(readFileSync(file, 'utf8')).jobs) as Array<{ steps: Step[] }>).flatMap((job) => job.steps);

describe("the workflows' install step", () => {
  it('installs the pinned tarball after checking its integrity, refuses one that differs, and that ferry runs the pipeline step as the workflow calls it', async () => {
    const project = join(root, 'project');
    cpSync(join(REPO_ROOT, 'example'), project, { recursive: true, filter: (path) => !path.includes('node_modules') });
    const config = (pin: unknown) => `app: hello\n${stringify({ workflow: { ferry: pin } })}environments:\n  production:\n    port: 3000\n    start: node server.js\n`;
    writeFileSync(join(project, 'ferry.yml'), config({ tarball, integrity }));
    const init = spawnSync(process.execPath, [FERRY_BIN, 'init', '--workflows', '--project', project], { encoding: 'utf8' });
    expect(init.status, init.stderr).toBe(0);
    expect(init.stdout).toContain(`assumed  ferry in CI: ${tarball} (${integrity.slice(0, 19)}…)  (workflow.ferry in ferry.yml)`);

    for (const workflow of readdirSync(join(project, '.github/workflows'))) {
      const steps = stepsOf(join(project, '.github/workflows', workflow));
      const install = steps.findIndex((step) => step.name?.startsWith('Install ferry'));
      expect(steps[install]?.name, workflow).toBe('Install ferry (tarball, sha512 checked)');
      expect(steps[install]?.env, workflow).toEqual({ FERRY_TARBALL: tarball, FERRY_INTEGRITY: integrity });
      // ferry is installed before any step calls it, and the steps call the installed `ferry`, never `npx ferry`.
      expect(steps.findIndex((step) => /^ferry /.test(step.run ?? '') || /\bferry (rollback|ci)\b/.test(step.run ?? '')), workflow).toBeGreaterThan(install);
      expect(steps.some((step) => step.run?.includes('npx ferry')), workflow).toBe(false);
    }

    const ci = stepsOf(join(project, '.github/workflows/ci.yml'));
    const installStep = ci.find((step) => step.name?.startsWith('Install ferry'))!;
    // The step runs as the runner would run it (bash, its env), in a clean folder, into a prefix of its own.
    const runStep = (step: Step, prefix: string, env: Record<string, string> = step.env!) =>
      bash(step.run!, { cwd: mkdtempSync(join(root, 'clean-')), env: { ...npmEnv(prefix), ...env } });

    // A tarball that is not the one pinned (replaced on the server, say) is refused before npm sees it.
    const forged = join(root, 'forged.tgz');
    writeFileSync(forged, Buffer.concat([readFileSync(tarball), Buffer.from('x')]));
    const refused = await runStep(installStep, join(root, 'prefix-forged'), { FERRY_TARBALL: forged, FERRY_INTEGRITY: integrity });
    expect(refused.status).toBe(1);
    expect(refused.stdout).toContain(`::error::ferry's tarball ${forged} has integrity sha512-`);
    expect(spawnSync('ls', [join(root, 'prefix-forged', 'bin', 'ferry')]).status).not.toBe(0);

    const prefix = join(root, 'prefix');
    const installed = await runStep(installStep, prefix);
    expect(installed.status, installed.stderr).toBe(0);
    // better-sqlite3 came prebuilt, as it does for a user, where this Node has a build of it to serve.
    if (prebuildMade) expect(prebuildsServed).toBeGreaterThan(0);
    const path = `${join(prefix, 'bin')}:${process.env.PATH}`;
    const version = spawnSync('ferry', ['--version'], { env: { ...npmEnv(prefix), PATH: path }, encoding: 'utf8' });
    expect(version.stdout.trim()).toBe(FERRY_VERSION);

    // The pipeline step, as written, with the installed ferry: the run is stored and its table printed.
    const pipeline = ci.find((step) => step.name === 'Pipeline (ferry ci)')!;
    spawnSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: project });
    const run = await bash(pipeline.run!, { cwd: project, env: { ...npmEnv(prefix), PATH: path, XDG_STATE_HOME: join(root, 'state') } });
    expect(run.stdout + run.stderr).toMatch(/pipeline run #1: lint, typecheck, audit, licenses, test/);
    expect(run.stdout + run.stderr).toMatch(/✓ test succeeded/);
  }, 600_000);

  it("a ferry run from a git checkout with an https origin proposes that origin at its commit in the ferry.yml init writes, and the workflows install exactly that", () => {
    // A copy of this ferry that is a git checkout of its own, with an origin CI can reach.
    const checkout = join(root, 'checkout');
    mkdirSync(checkout);
    for (const entry of ['bin', 'dist', 'package.json']) cpSync(join(REPO_ROOT, entry), join(checkout, entry), { recursive: true });
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(checkout, 'node_modules'));
    const git = (...args: string[]) => spawnSync('git', ['-C', checkout, '-c', 'user.name=t', '-c', 'user.email=t@localhost', ...args], { encoding: 'utf8' });
    git('init', '-q');
    git('add', 'package.json');
    git('commit', '-qm', 'ferry');
    git('remote', 'add', 'origin', 'https://github.com/example/ferry.git');
    const commit = git('rev-parse', 'HEAD').stdout.trim();

    const project = join(root, 'proposed');
    mkdirSync(project);
    cpSync(join(REPO_ROOT, 'example/package.json'), join(project, 'package.json'));
    const init = spawnSync(process.execPath, [join(checkout, 'bin/ferry.js'), 'init', '--no-probe', '--project', project], { encoding: 'utf8' });
    expect(init.status, init.stderr).toBe(0);
    const pin = `git+https://github.com/example/ferry.git#${commit}`;
    expect(parse(readFileSync(join(project, 'ferry.yml'), 'utf8')).workflow).toEqual({ ferry: pin });
    expect(init.stdout).toContain(`assumed  ferry in CI: ${pin}  (this ferry's git checkout`);
    for (const workflow of ['ci.yml', 'deploy.yml', 'rollback.yml']) {
      const install = stepsOf(join(project, '.github/workflows', workflow)).find((step) => step.name?.startsWith('Install ferry'))!;
      expect(install.env, workflow).toEqual({ FERRY_SOURCE: pin });
      expect(install.run, workflow).toContain('npm pack --silent "$FERRY_SOURCE"');
    }
    gitInstallStep = stepsOf(join(project, '.github/workflows/ci.yml')).find((step) => step.name?.startsWith('Install ferry'))!;
  });
});

/** A command as a user or a workflow step runs it (bash, in a clean folder), installing into a prefix of its own; then `ferry --version` from there. */
async function installGlobally(script: string, prefix: string, env: Record<string, string> = {}): Promise<{ status: number | null; output: string; version: string }> {
  const { status, stdout, stderr } = await bash(script, { cwd: mkdtempSync(join(root, 'user-')), env: { ...npmEnv(prefix), ...env } });
  const version = spawnSync(join(prefix, 'bin', 'ferry'), ['--version'], { encoding: 'utf8' });
  return { status, output: stdout + stderr, version: (version.stdout ?? '').trim() || version.stderr || String(version.error) };
}

describe('every install route the README names', () => {
  // The third route, `npm install -g <npm pack's tarball>`, is the tarball workflow step above: it installs that
  // very tarball with `npm install --global` and runs `ferry --version` from the prefix.
  it('npm install -g from a fresh clone and from a git URL at a commit (packed first, as the README and the workflows do): each then runs ferry --version', async () => {
    const clone = join(root, 'clone');
    expect(spawnSync('git', ['clone', '-q', REPO_ROOT, clone]).status).toBe(0);
    const commit = spawnSync('git', ['-C', clone, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
    expect(gitInstallStep?.run, 'the git source test ran first').toBeDefined();
    // The two at once: each installs ferry's dependencies (dev ones too) and builds it.
    const [fromClone, fromGit] = await Promise.all([
      installGlobally(`npm install --global ${clone}`, join(root, 'g-clone')),
      installGlobally(gitInstallStep.run!, join(root, 'g-git'), { FERRY_SOURCE: `git+file://${clone}#${commit}` }),
    ]);
    for (const [route, result] of Object.entries({ fromClone, fromGit })) {
      expect(result.status, `${route}: ${result.output.slice(-3000)}`).toBe(0);
      expect(result.version, route).toBe(FERRY_VERSION);
    }
    // The clone's folder got what ferry runs with and the esbuild its build needs, not the development tools.
    expect(existsSync(join(clone, 'node_modules', 'esbuild')), 'esbuild in the clone').toBe(true);
    for (const tool of ['typescript', 'vitest', 'eslint', 'playwright-core']) expect(existsSync(join(clone, 'node_modules', tool)), tool).toBe(false);
    // Each route's better-sqlite3 came prebuilt (from the host the user set, or prebuild-install's cache of it), not
    // compiled (a compile leaves obj.target): the clone's prepare once dropped that setting and compiled for a minute.
    if (prebuildMade) {
      for (const installed of [join(clone, 'node_modules'), join(root, 'g-git', 'lib', 'node_modules', 'ferry', 'node_modules')]) {
        expect(existsSync(join(installed, 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node')), installed).toBe(true);
        expect(existsSync(join(installed, 'better-sqlite3', 'build', 'Release', 'obj.target')), installed).toBe(false);
      }
    }
  }, 900_000);
});
