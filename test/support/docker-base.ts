import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Docker from 'dockerode';
import { createTestProject, type TestProject } from './project.js';

/** No registry can be reached here: tests build their base image from the host's own Node runtime, once. */
export const TEST_BASE_IMAGE = 'ferry-test/node-base:20-v5';

/**
 * One step on the base image, which already sets WORKDIR /app and CMD: on the vfs storage driver every step
 * copies the whole filesystem (about 2 s each here, far more under load), so many deploys stay affordable.
 */
export const SLIM_DOCKERFILE = `ARG BASE_IMAGE
FROM \${BASE_IMAGE}
COPY . .
`;

export async function dockerAvailable(docker = new Docker()): Promise<boolean> {
  try {
    await docker.ping();
    return true;
  } catch {
    return false;
  }
}

function sharedLibraries(binaries: string[]): string[] {
  const out = execFileSync('ldd', binaries, { encoding: 'utf8' });
  return [...new Set(out.match(/\/[^\s:]+\.so[^\s:]*/g) ?? [])];
}

/** A root filesystem with node, npm, /bin/sh and a few coreutils, imported as an image (docker import through the API). */
export async function ensureTestBaseImage(docker = new Docker()): Promise<string> {
  const exists = await docker.getImage(TEST_BASE_IMAGE).inspect().then(() => true, () => false);
  if (exists) return TEST_BASE_IMAGE;
  const root = mkdtempSync(join(tmpdir(), 'ferry-rootfs-'));
  try {
    const binaries = ['/usr/bin/node', '/bin/sh', '/usr/bin/env', '/bin/mkdir', '/bin/rm', '/bin/cp', '/bin/ls', '/bin/cat', '/bin/chown'];
    for (const file of [...binaries, ...sharedLibraries(binaries)]) {
      mkdirSync(join(root, dirname(file)), { recursive: true });
      copyFileSync(file, join(root, file)); // follows symlinks (Node 24's cpSync refuses /bin/sh when /bin is one)
    }
    cpSync('/usr/lib/node_modules/npm', join(root, 'usr/lib/node_modules/npm'), { recursive: true, dereference: true });
    symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(root, 'usr/bin/npm'));
    for (const dir of ['tmp', 'app', 'etc', 'root']) mkdirSync(join(root, dir), { recursive: true, mode: 0o1777 });
    chmodSync(root, 0o755); // mkdtemp makes it 0700: the image's non-root user could not reach /usr/bin
    const tar = spawn('tar', ['-c', '-C', root, '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [repo, tag] = TEST_BASE_IMAGE.split(':');
    const stream = await docker.importImage(tar.stdout as unknown as string, { repo, tag, changes: ['ENV PATH=/usr/local/bin:/usr/bin:/bin', 'WORKDIR /app', 'CMD ["node", "server.js"]'] });
    await new Promise((resolve, reject) => docker.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve(undefined))));
    return TEST_BASE_IMAGE;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** Removes the services, containers and images a test or benchmark app left on the engine (by the ferry.app label). */
export async function removeDockerLeftovers(app: string, docker = new Docker()): Promise<void> {
  const label = `ferry.app=${app}`;
  for (const service of await docker.listServices({ filters: { label: [label] } }).catch(() => [])) await docker.getService(service.ID).remove().catch(() => undefined);
  for (const c of await docker.listContainers({ all: true, filters: { label: [label] } })) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
  for (const image of await docker.listImages({ filters: { label: [label] } })) await docker.getImage(image.Id).remove({ force: true }).catch(() => undefined);
}

/**
 * A copy of example/ whose production runs on the docker runtime, built on the offline test base image,
 * under a unique app name; `production` adds or overrides that environment's settings.
 */
export async function dockerTestProject(app: string, production: Record<string, unknown> = {}, docker = new Docker()): Promise<TestProject> {
  const base = await ensureTestBaseImage(docker);
  const project = await createTestProject();
  project.writeConfig((config) => {
    config.app = app;
    const env = config.environments.production;
    delete env.start;
    Object.assign(env, { runtime: 'docker', build_args: { BASE_IMAGE: base }, ...production });
    env.health.deadline = '12s';
  });
  project.commit({}, 'docker runtime');
  return project;
}
