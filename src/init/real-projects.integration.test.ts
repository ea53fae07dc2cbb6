import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { FERRY_BIN } from '../../test/support/project.js';
import { statePaths } from '../state/paths.js';
import { freePort } from '../util/ports.js';

const made: string[] = [];
afterAll(async () => {
  for (const dir of made) {
    await ferry(dir, ['agent', 'stop']);
    rmSync(statePaths(dir).root, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
});

function ferry(dir: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [FERRY_BIN, ...args, '--project', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    child.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

/** A tiny HTTP service answering 200 on one path: what each fixture's entry point runs. */
const serviceSource = (path: string, module: 'esm' | 'cjs') =>
  `${module === 'esm' ? "import http from 'node:http';" : "const http = require('node:http');"}
const server = http.createServer((req, res) => { res.statusCode = req.url === '${path}' ? 200 : 404; res.end(req.url === '${path}' ? 'ok' : 'no'); });
server.listen(Number(process.env.PORT), process.env.HOST || '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

/** What an Express- or Fastify-shaped app calls: `app.get(path, handler)` and `app.listen`, either signature. */
const MINI_FRAMEWORK = `const http = require('node:http');
module.exports = function framework() {
  const routes = {};
  return {
    get: (path, handler) => { routes[path] = handler; },
    listen(port, host) {
      const options = typeof port === 'object' ? port : { port, host };
      return http.createServer((req, res) => (routes[req.url] ? routes[req.url](req, res) : ((res.statusCode = 404), res.end()))).listen(options.port, options.host || '127.0.0.1');
    },
  };
};
module.exports.default = module.exports;
`;

/** A Next.js-shaped bin: \`next build\` writes .next, \`next start\` serves / from it (and refuses without it, as Next does). */
const MINI_NEXT = `#!/usr/bin/env node
const fs = require('node:fs');
const http = require('node:http');
if (process.argv[2] === 'build') { fs.mkdirSync('.next', { recursive: true }); fs.writeFileSync('.next/BUILD_ID', 'b1'); process.exit(0); }
if (process.argv[2] !== 'start') process.exit(2);
if (!fs.existsSync('.next/BUILD_ID')) { console.error('Could not find a production build in the .next directory. Try building your app with next build.'); process.exit(1); }
const server = http.createServer((req, res) => { res.statusCode = req.url === '/' ? 200 : 404; res.end('page'); }).listen(Number(process.env.PORT), process.env.HOST || '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

/** A project in a temp git repository: package.json, files, and dependencies packed here (installed with no network). */
function fixture(manifest: Record<string, unknown>, files: Record<string, string>, packages: Record<string, Record<string, string>> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-real-'));
  made.push(dir);
  const dependencies: Record<string, string> = {};
  for (const [name, content] of Object.entries(packages)) {
    const source = join(dir, '.vendor-src', name);
    mkdirSync(source, { recursive: true });
    for (const [file, text] of Object.entries(content)) writeFileSync(join(source, file), text);
    mkdirSync(join(dir, 'vendor'), { recursive: true });
    const tarball = execFileSync('npm', ['pack', source, '--pack-destination', join(dir, 'vendor'), '--silent'], { encoding: 'utf8' }).trim().split('\n').pop()!;
    dependencies[name] = `file:vendor/${tarball}`;
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ version: '1.0.0', ...manifest, ...(Object.keys(dependencies).length ? { dependencies } : {}) }, null, 2));
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  if (Object.keys(dependencies).length) execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline'], { cwd: dir, stdio: 'ignore' });
  writeFileSync(join(dir, '.gitignore'), 'node_modules/\n.vendor-src/\ndist/\n');
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: dir, stdio: 'ignore' });
  git('init', '-q');
  git('add', '-A');
  git('commit', '-qm', 'the project');
  return dir;
}

/**
 * The ports init writes (3000, 3001) belong to other tests here: free ones instead; and a 1 s watch window where
 * init leaves the default 10 s (tested elsewhere; here eight deploys would wait 80 s). Neither is an edit the
 * project needs.
 */
async function freePorts(dir: string): Promise<number> {
  const config = parse(readFileSync(join(dir, 'ferry.yml'), 'utf8'));
  config.agent = { port: 0 };
  for (const env of Object.values(config.environments) as Array<{ port: number; watch?: string }>) {
    env.port = await freePort();
    env.watch ??= '1s';
  }
  writeFileSync(join(dir, 'ferry.yml'), stringify(config));
  return config.environments.production.port;
}

async function initAndDeploy(dir: string, expected: { start: string; health: string; healthFound: boolean }) {
  const init = await ferry(dir, ['init']);
  expect(init.code, init.out).toBe(0);
  const config = parse(readFileSync(join(dir, 'ferry.yml'), 'utf8'));
  expect(config.environments.production).toMatchObject({ start: expected.start, health: { path: expected.health } });
  expect(config.environments.production.runtime).toBeUndefined(); // the process runtime, the embedded default
  expect(init.out).toMatch(new RegExp(`^assumed  start: ${expected.start.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'm'));
  if (expected.healthFound) expect(init.out).toMatch(/^assumed {2}health: \S+ {2}\(a trial start .* answered 200/m);
  else expect(init.out).toMatch(/^edit {5}ferry\.yml: check health\.path/m);
  // At most one edit, and none the deploy below needs.
  expect(init.out.match(/^edit /gm)?.length ?? 0).toBeLessThanOrEqual(1);
  const port = await freePorts(dir);
  const deploy = await ferry(dir, ['deploy', 'production']);
  expect(deploy.code, deploy.out).toBe(0);
  const answer = await fetch(`http://127.0.0.1:${port}${expected.health}`);
  expect(answer.status).toBe(200);
  return { init, deploy };
}

describe('ferry init fits real projects, and what it writes deploys', () => {
  it('a start script naming a dependency’s bin, no index.js, health at /-/ping (a registry server, as Verdaccio)', async () => {
    const dir = fixture(
      { name: '@acme/registry', scripts: { start: 'tinyreg' } },
      { 'config.yaml': 'storage: ./storage\n' },
      { tinyreg: { 'package.json': JSON.stringify({ name: 'tinyreg', version: '1.0.0', bin: { tinyreg: 'cli.js' } }), 'cli.js': `#!/usr/bin/env node\n${serviceSource('/-/ping', 'cjs')}` } },
    );
    const { init, deploy } = await initAndDeploy(dir, { start: 'tinyreg', health: '/-/ping', healthFound: true });
    expect(deploy.out).toMatch(/✓ build .*installed with `npm ci --no-audit --no-fund --omit=dev`/);
    // Its packages live in ./storage (config.yaml says so): kept outside the releases.
    expect(init.out).toMatch(/^assumed {2}shared: storage {2}\(config\.yaml uses it/m);
    expect(parse(readFileSync(join(dir, 'ferry.yml'), 'utf8')).environments.production.shared).toEqual(['storage']);
  });

  it('a main field and no start script, health at /healthz (CommonJS)', async () => {
    const dir = fixture({ name: 'mainonly', main: 'lib/app.js' }, { 'lib/app.js': serviceSource('/healthz', 'cjs') });
    await initAndDeploy(dir, { start: 'node lib/app.js', health: '/healthz', healthFound: true });
  });

  it('a build step (TypeScript-like: the start runs the build output), health at /health', async () => {
    const dir = fixture(
      { name: 'built', type: 'module', scripts: { build: 'mkdir -p dist && cp src/server.js dist/server.js', start: 'node dist/server.js' } },
      { 'src/server.js': serviceSource('/health', 'esm') },
    );
    const { init, deploy } = await initAndDeploy(dir, { start: 'node dist/server.js', health: '/health', healthFound: false });
    expect(init.out).toMatch(/^assumed {2}build: npm run build {2}\(package\.json scripts\.build\)/m);
    expect(deploy.out).toMatch(/✓ build .*built with `npm run build`/);
  });

  it('a start script that runs a dev tool (nest start) gives way to start:prod', async () => {
    const dir = fixture({ name: 'nestish', scripts: { start: 'nest start', 'start:prod': 'node main.js' } }, { 'main.js': serviceSource('/api/health', 'cjs') });
    await initAndDeploy(dir, { start: 'node main.js', health: '/api/health', healthFound: true });
  });

  it('Express: a start script running the app file, health at /health', async () => {
    const dir = fixture(
      { name: 'shop-api', scripts: { start: 'node app.js' } },
      { 'app.js': "const express = require('express');\nconst app = express();\napp.get('/health', (req, res) => res.end('ok'));\nconst server = app.listen(Number(process.env.PORT), process.env.HOST);\nprocess.on('SIGTERM', () => server.close(() => process.exit(0)));\n" },
      { express: { 'package.json': JSON.stringify({ name: 'express', version: '4.21.0', main: 'index.js' }), 'index.js': MINI_FRAMEWORK } },
    );
    const { init } = await initAndDeploy(dir, { start: 'node app.js', health: '/health', healthFound: true });
    expect(init.out).toMatch(/^assumed {2}framework: Express/m);
  });

  it('Fastify: an ES module server, health at /ping', async () => {
    const dir = fixture(
      { name: 'events-api', type: 'module', scripts: { start: 'node src/server.js' } },
      { 'src/server.js': "import Fastify from 'fastify';\nconst app = Fastify();\napp.get('/ping', (req, res) => res.end('pong'));\nconst server = app.listen({ port: Number(process.env.PORT), host: process.env.HOST });\nprocess.on('SIGTERM', () => server.close(() => process.exit(0)));\n" },
      { fastify: { 'package.json': JSON.stringify({ name: 'fastify', version: '5.0.0', main: 'index.js' }), 'index.js': MINI_FRAMEWORK } },
    );
    const { init } = await initAndDeploy(dir, { start: 'node src/server.js', health: '/ping', healthFound: true });
    expect(init.out).toMatch(/^assumed {2}framework: Fastify/m);
  });

  it('Next.js: `next build` then `next start`; with no build here init guesses / and says so, and the deploy builds and serves', async () => {
    const dir = fixture(
      { name: 'storefront', scripts: { dev: 'next dev', build: 'next build', start: 'next start' } },
      { 'pages/index.js': 'export default function Home() { return "home"; }\n' },
      { next: { 'package.json': JSON.stringify({ name: 'next', version: '15.0.0', bin: { next: 'cli.js' } }), 'cli.js': MINI_NEXT } },
    );
    const { init, deploy } = await initAndDeploy(dir, { start: 'next start', health: '/', healthFound: false });
    expect(init.out).toMatch(/^assumed {2}health: \/ {2}\(a guess: no trial start: `next start` serves \.next, which `npm run build` makes and which has not run here\)/m);
    expect(deploy.out).toMatch(/✓ build .*built with `npm run build`/);
  });

  it('an app that keeps a counter in ./data (made at run time, in no commit): init shares the folder, and a second deploy keeps the count', async () => {
    const server = `const http = require('node:http');
const { mkdirSync, readFileSync, writeFileSync } = require('node:fs');
const path = require('node:path');
const file = path.join(process.cwd(), 'data', 'hits');
mkdirSync(path.dirname(file), { recursive: true });
const server = http.createServer((req, res) => {
  if (req.url !== '/hit') return res.end('ok');
  let hits = 0;
  try { hits = Number(readFileSync(file, 'utf8')); } catch {}
  writeFileSync(file, String(hits + 1));
  res.end(String(hits + 1));
});
server.listen(Number(process.env.PORT), process.env.HOST || '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;
    const dir = fixture({ name: 'counter', scripts: { start: 'node server.js' } }, { 'server.js': server });
    // It answers 'ok' on every path: /health answering says nothing, so init takes / and says it is a guess.
    const { init } = await initAndDeploy(dir, { start: 'node server.js', health: '/', healthFound: true });
    expect(init.out).toMatch(/^assumed {2}health: \/ {2}\(.* answered 200 on any path .*: \/ assumed; set health\.path to a route/m);
    expect(init.out).toMatch(/^assumed {2}shared: data {2}\(server\.js uses it, and the commit has no files there/m);
    // Each environment its own list: no YAML anchor (&a1) and alias (*a1) for a newcomer to puzzle over.
    expect(readFileSync(join(dir, 'ferry.yml'), 'utf8')).not.toMatch(/[&*]a\d/);
    const port = parse(readFileSync(join(dir, 'ferry.yml'), 'utf8')).environments.production.port;
    const hit = () => fetch(`http://127.0.0.1:${port}/hit`).then((r) => r.text());
    expect([await hit(), await hit()]).toEqual(['1', '2']);
    const again = await ferry(dir, ['deploy', 'production']);
    expect(again.code, again.out).toBe(0);
    expect(again.out).toMatch(/shared: data → /);
    expect(await hit()).toBe('3');
  });

  it('a project that does not say how it starts: init says the one edit, and after it the deploy works', async () => {
    const dir = fixture({ name: 'silent', type: 'module' }, { 'service.mjs': serviceSource('/health', 'esm') });
    const init = await ferry(dir, ['init']);
    expect(init.code).toBe(0);
    expect(init.out).toMatch(/^edit {5}ferry\.yml: add `start: <command>` to each environment/m);
    const config = parse(readFileSync(join(dir, 'ferry.yml'), 'utf8'));
    for (const env of Object.values(config.environments) as Array<Record<string, unknown>>) env.start = 'node service.mjs';
    writeFileSync(join(dir, 'ferry.yml'), stringify(config));
    const port = await freePorts(dir);
    const deploy = await ferry(dir, ['deploy', 'production']);
    expect(deploy.code, deploy.out).toBe(0);
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
  });
});
