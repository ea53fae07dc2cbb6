import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestProject, httpGet, type TestProject } from '../../../test/support/project.js';

let project: TestProject;

/** A package made here and packed to a tarball in the project: npm installs it from the file, with no network. */
function vendorPackage(dir: string, name: string, body: string): string {
  const source = join(dir, 'vendor-src', name);
  mkdirSync(source, { recursive: true });
  writeFileSync(join(source, 'package.json'), JSON.stringify({ name, version: '1.0.0', type: 'module', main: 'index.js' }));
  writeFileSync(join(source, 'index.js'), body);
  mkdirSync(join(dir, 'vendor'), { recursive: true });
  const tarball = execFileSync('npm', ['pack', source, '--pack-destination', join(dir, 'vendor'), '--silent'], { encoding: 'utf8' }).trim().split('\n').pop()!;
  return `file:vendor/${tarball}`;
}

beforeAll(async () => {
  project = await createTestProject();
  const greet = vendorPackage(project.dir, 'greet', "export default (name) => `hello from greet, ${name}`;\n");
  const devtool = vendorPackage(project.dir, 'devtool', 'export default 1;\n');
  writeFileSync(
    join(project.dir, 'package.json'),
    JSON.stringify({ name: 'hello', version: '1.0.0', type: 'module', scripts: { start: 'node server.js', test: 'node --test test/' }, dependencies: { greet }, devDependencies: { devtool } }, null, 2),
  );
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline'], { cwd: project.dir, stdio: 'ignore' });
  // The service uses its dependency: without node_modules it cannot start.
  writeFileSync(join(project.dir, 'greeting.js'), "import greet from 'greet';\nexport const greeting = greet('ferry');\n");
  project.commit({ 'server.js': `import './greeting.js';\n${execFileSync('cat', [join(project.dir, 'server.js')], { encoding: 'utf8' })}`, '.gitignore': 'node_modules/\nvendor-src/\n' }, 'a dependency');
});
afterAll(() => project.cleanup());

const releaseApp = (id: string) => join(project.stateDir, 'releases/production', id, 'app');

describe('the process runtime installs dependencies', () => {
  it('installs with npm ci from the lockfile, production dependencies only, and the release starts', async () => {
    const first = await project.ferry(['deploy', 'production']);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.stdout).toMatch(/✓ build .*installed with `npm ci --no-audit --no-fund --omit=dev` in \d+ms/);
    expect(existsSync(join(releaseApp('r1'), 'node_modules/greet/index.js'))).toBe(true);
    expect(existsSync(join(releaseApp('r1'), 'node_modules/devtool'))).toBe(false);
    expect((await httpGet(project.ports.production)).status).toBe(200);
  });

  it('a second release with the same lockfile reuses the installed tree (hard links): time saved and disk used, reported', async () => {
    project.commit({ 'VERSION': '2\n' }, 'code change, same lockfile');
    const second = await project.ferry(['deploy', 'production']);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    const said = /node_modules reused \(same package-lock\.json, node v[\d.]+, key [0-9a-f]{16}\): (\d+)ms instead of (\d+)ms for `npm ci[^`]*`, (\d+) KB new on disk/.exec(second.stdout);
    expect(said, second.stdout).not.toBeNull();
    console.log(`second deploy, same lockfile: ${said![0]}`);
    const file = 'node_modules/greet/index.js';
    expect(statSync(join(releaseApp('r2'), file)).ino).toBe(statSync(join(releaseApp('r1'), file)).ino);
    expect((await httpGet(project.ports.production)).status).toBe(200);
  });

  it('install: false installs nothing, and the release fails its gate with the missing module in its log', async () => {
    project.writeConfig((config) => {
      config.environments.production.install = false;
    });
    project.commit({}, 'install off');
    const off = await project.ferry(['deploy', 'production']);
    expect(off.code).toBe(1);
    expect(off.stdout).not.toMatch(/→ build/); // nothing to install or build: no build step at all
    expect(off.stdout).toMatch(/Cannot find package 'greet'/);
    project.writeConfig();
    project.commit({}, 'install on');
  });
});
