import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import { ferryUntil, type TestProject } from '../../../test/support/project.js';
import { dockerAvailable, dockerTestProject, removeDockerLeftovers } from '../../../test/support/docker-base.js';

const docker = new Docker();
const available = await dockerAvailable(docker);
if (!available) console.warn('\n**********\n* SKIPPED: the pipeline-image tests need a Docker engine (.ci/run installs docker.io and starts dockerd)\n**********\n');

let project: TestProject;
const appName = `pi${Date.now().toString(36)}`;

const servingImage = async () => {
  const [container] = await docker.listContainers({ filters: { label: [`ferry.app=${appName}`, 'ferry.env=production'] } });
  return container?.ImageID;
};

describe.skipIf(!available)('a deploy after `ferry ci` on the docker runtime', () => {
  beforeAll(async () => {
    project = await dockerTestProject(appName, {}, docker);
  }, 120_000);
  afterAll(async () => {
    await project?.cleanup();
    await removeDockerLeftovers(appName, docker);
    for (const image of await docker.listImages({ filters: { reference: [`${appName}:*`] } })) await docker.getImage(image.Id).remove({ force: true }).catch(() => undefined);
  });

  it('runs the image the pipeline built from the same commit (same digest) instead of building again; a new commit builds', async () => {
    const ci = await project.ferry(['ci', '--stage', 'image']);
    expect(ci.stdout, ci.stdout + ci.stderr).toMatch(/✓ image succeeded/);
    const built = await docker.getImage(`${appName}:ci`).inspect();

    const deploy = await project.ferry(['deploy', 'production']);
    expect(deploy.code, deploy.stdout + deploy.stderr).toBe(0);
    expect(deploy.stdout).toMatch(new RegExp(`image ${appName}:r1 is the one \`ferry ci\` built from this commit's files \\(src-[0-9a-f]{12}…, ${built.Id.slice(0, 19)}\\), not rebuilt`));
    expect(await servingImage()).toBe(built.Id);

    // A commit the pipeline has not built: the deploy builds its own image.
    project.commit({ VERSION: '2\n' }, 'r2');
    const next = await project.ferry(['deploy', 'production']);
    expect(next.code, next.stdout + next.stderr).toBe(0);
    expect(next.stdout).not.toContain('`ferry ci` built');
    // The layers before the files changed come from the engine's build cache, and the deploy says how many.
    expect(next.stdout).toMatch(new RegExp(`image ${appName}:r2 built: (\\d+) step\\(s\\), [1-9]\\d* from the build cache`));
    expect(await servingImage()).not.toBe(built.Id);
  }, 180_000); // ferry ci builds an image, then deploys: 45-90 s on a loaded 2-core machine

  it("the prune removes the app's exited containers no instance names and its dangling images", async () => {
    const base = (await docker.getImage(`${appName}:r2`).inspect()).Id;
    const stray = await docker.createContainer({ Image: base, Labels: { 'ferry.app': appName }, Cmd: ['true'] });
    // A tag moved to another build leaves the first image dangling.
    const build = (label: string) => spawnSync('docker', ['build', '-q', '-t', `${appName}:moved`, '--label', `ferry.app=${appName}`, '--label', `n=${label}`, '-'], { input: `FROM ${base}\n`, encoding: 'utf8' });
    const first = build('1').stdout.trim();
    expect(build('2').status).toBe(0);
    project.commit({ VERSION: '3\n' }, 'r3');
    const deploy = await project.ferry(['deploy', 'production']);
    expect(deploy.code, deploy.stdout + deploy.stderr).toBe(0);
    expect(deploy.stdout).toMatch(new RegExp(`prune .*[1-9]\\d* exited container\\(s\\) and [1-9]\\d* dangling image\\(s\\) of ${appName} no release uses`));
    await expect(stray.inspect()).rejects.toThrow();
    await expect(docker.getImage(first).inspect()).rejects.toThrow();
    // What serves and what a rollback needs stay.
    expect(await servingImage()).toBeDefined();
    await docker.getImage(`${appName}:r2`).inspect();
  });

  it('shows container output with the time the engine recorded, and follows it', async () => {
    const logs = await project.ferry(['logs', 'production', '--timestamps', '-n', '5']);
    expect(logs.stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z hello .* \(r3\) listening/m);
    const follow = ferryUntil(project, ['logs', 'production', '--follow', '-n', '1'], /production-r3-\S+ \| hello .* \(r3\) listening/);
    try {
      expect(await follow.matched).toMatch(/==> production-r3-\S+ \(r3\) attached <==/);
    } finally {
      follow.child.kill('SIGINT');
    }
  });
});
