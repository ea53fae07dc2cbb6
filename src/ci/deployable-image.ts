import { spawnSync } from 'node:child_process';
import { imageBuildKey, pipelineImageTag } from '../runtime/image-tags.js';

/**
 * The tag under which a deploy finds the image a pipeline run built: only when the working tree is clean (the
 * image is then made of the commit's files, as the release is) and the build is the deploy's (BASE_IMAGE from
 * the environment of the run changes it, and the deploy does not see that).
 */
export function deployableTag(projectDir: string, app: string, image: { dockerfile: string; buildArgs: Record<string, string> }, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const git = (...args: string[]) => spawnSync('git', args, { cwd: projectDir, encoding: 'utf8' });
  const status = git('status', '--porcelain', '--', '.');
  const tree = git('rev-parse', '--verify', '--quiet', 'HEAD:./');
  if (status.status !== 0 || status.stdout.trim() || tree.status !== 0) return undefined;
  if (env.BASE_IMAGE && env.BASE_IMAGE !== image.buildArgs.BASE_IMAGE) return undefined;
  return pipelineImageTag(app, tree.stdout.trim(), imageBuildKey(image.dockerfile, image.buildArgs));
}
