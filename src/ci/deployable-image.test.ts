import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { imageBuildKey } from '../runtime/image-tags.js';
import { deployableTag } from './deployable-image.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function repo(): { dir: string; git: (...args: string[]) => string } {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-deployable-'));
  dirs.push(dir);
  const git = (...args: string[]) => spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@localhost', ...args], { cwd: dir, encoding: 'utf8' }).stdout.trim();
  git('init', '-q');
  writeFileSync(join(dir, 'server.js'), 'console.log(1)\n');
  git('add', '-A');
  git('commit', '-qm', 'one');
  return { dir, git };
}

describe("the tag under which a deploy finds the pipeline's image", () => {
  const image = { dockerfile: 'Dockerfile', buildArgs: { BASE_IMAGE: 'node:22-slim', NODE_ENV: 'production' } };

  it('names the git tree of the project folder and the build settings', () => {
    const { dir, git } = repo();
    expect(deployableTag(dir, 'shop', image, {})).toBe(`shop:src-${git('rev-parse', 'HEAD^{tree}')}-${imageBuildKey('Dockerfile', image.buildArgs)}`);
    // The order of build_args does not matter; their values and the Dockerfile do.
    expect(imageBuildKey('Dockerfile', { NODE_ENV: 'production', BASE_IMAGE: 'node:22-slim' })).toBe(imageBuildKey('Dockerfile', image.buildArgs));
    expect(imageBuildKey('Dockerfile', { ...image.buildArgs, NODE_ENV: 'staging' })).not.toBe(imageBuildKey('Dockerfile', image.buildArgs));
    expect(imageBuildKey('Dockerfile.prod', image.buildArgs)).not.toBe(imageBuildKey('Dockerfile', image.buildArgs));
  });

  it('is none for a working tree with changes (the image would not be the commit’s) or a BASE_IMAGE the deploy does not use', () => {
    const { dir } = repo();
    writeFileSync(join(dir, 'server.js'), 'console.log(2)\n');
    expect(deployableTag(dir, 'shop', image, {})).toBeUndefined();
    const clean = repo();
    writeFileSync(join(clean.dir, 'new.js'), '\n');
    expect(deployableTag(clean.dir, 'shop', image, {})).toBeUndefined();
    const other = repo();
    expect(deployableTag(other.dir, 'shop', image, { BASE_IMAGE: 'node:24-slim' })).toBeUndefined();
    expect(deployableTag(other.dir, 'shop', image, { BASE_IMAGE: 'node:22-slim' })).toMatch(/^shop:src-/);
    const outside = mkdtempSync(join(tmpdir(), 'ferry-nogit-'));
    dirs.push(outside);
    expect(deployableTag(outside, 'shop', image, {})).toBeUndefined();
  });
});
