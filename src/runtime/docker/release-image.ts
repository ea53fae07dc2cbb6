import type Docker from 'dockerode';
import type { EnvironmentConfig } from '../../config/schema.js';
import { FerryError } from '../../util/errors.js';
import { redact } from '../../util/redact.js';
import type { PrepareOptions, ReleaseTarget } from '../runtime.js';
import { buildImage } from './image-build.js';
import { imageBuildKey, pipelineImageTag } from '../image-tags.js';
import { imageRef, pushImage, registryAuth } from './image-push.js';

export const LABEL = {
  app: 'ferry.app',
  env: 'ferry.env',
  release: 'ferry.release',
  commit: 'ferry.commit',
  instance: 'ferry.instance',
} as const;

/** Labels that let ferry tell its own images and containers from anyone else's. */
export function releaseLabels(target: Pick<ReleaseTarget, 'app' | 'env' | 'release'>): Record<string, string> {
  return { [LABEL.app]: target.app, [LABEL.env]: target.env, [LABEL.release]: target.release.id, [LABEL.commit]: target.release.commit };
}

/**
 * The image of a release (docker and swarm runtimes): built from the release's files, or, for `ferry
 * promote`, the very image the other environment's release runs, tagged anew; pushed when the environment
 * has a registry (its nodes pull it by that name).
 */
export async function prepareReleaseImage(docker: Docker, target: ReleaseTarget, options: PrepareOptions): Promise<string> {
  const tag = imageRef(target.app, target.release.id);
  const registry = target.config.registry;
  const auth = registryAuth(registry, target.secrets);
  let image = `image ${tag}`;
  const built = options.reuse || !options.sourceTree ? undefined : await pipelineImage(docker, target, options.sourceTree);
  if (options.reuse) image = await reuseImage(docker, target, options.reuse, tag);
  else if (built) image = await adoptPipelineImage(docker, built, tag);
  else {
    const summary = await buildImage(docker, {
      contextDir: options.appDir,
      dockerfile: target.config.dockerfile,
      tag,
      buildArgs: target.config.build_args,
      labels: releaseLabels(target),
      timeoutMs: options.timeoutMs,
      onLine: (line) => options.onLine(redact(line, Object.values(target.secrets))),
    });
    image = `image ${tag} built: ${summary.steps} step(s), ${summary.cached} from the build cache`;
  }
  if (!registry) return image;
  const ref = imageRef(target.app, target.release.id, registry);
  await pushImage(docker, { localTag: tag, ref, auth, timeoutMs: options.timeoutMs, onLine: options.onLine });
  return `${image}, pushed as ${ref}`;
}

/** The image `ferry ci` built from this tree with this environment's build settings, if the engine has it. */
async function pipelineImage(docker: Docker, target: ReleaseTarget, tree: string): Promise<{ ref: string; id: string } | undefined> {
  const ref = pipelineImageTag(target.app, tree, imageBuildKey(target.config.dockerfile, target.config.build_args));
  const image = await docker.getImage(ref).inspect().catch(() => undefined);
  return image && { ref, id: image.Id };
}

async function adoptPipelineImage(docker: Docker, image: { ref: string; id: string }, tag: string): Promise<string> {
  const [repo, version] = [tag.slice(0, tag.lastIndexOf(':')), tag.slice(tag.lastIndexOf(':') + 1)];
  await docker.getImage(image.id).tag({ repo, tag: version });
  return `image ${tag} is the one \`ferry ci\` built from this commit's files (${image.ref.slice(image.ref.indexOf(':') + 1, image.ref.indexOf(':') + 17)}…, ${image.id.slice(0, 19)}), not rebuilt`;
}

async function reuseImage(docker: Docker, target: ReleaseTarget, from: NonNullable<PrepareOptions['reuse']>, tag: string): Promise<string> {
  const source = imageRef(target.app, from.id);
  const image = await docker.getImage(source).inspect().catch(() => undefined);
  if (!image) {
    throw new FerryError({
      code: 'STEP_FAILED',
      message: `the image of ${from.env}'s ${from.id} (${source}) is gone from the engine; cannot promote the same image`,
      hint: `Deploy commit ${from.commit.slice(0, 12)} to ${target.env} with \`ferry deploy --ref\` instead (it rebuilds).`,
    });
  }
  const [repo, version] = [tag.slice(0, tag.lastIndexOf(':')), tag.slice(tag.lastIndexOf(':') + 1)];
  await docker.getImage(source).tag({ repo, tag: version });
  return `image ${tag} is ${from.env}'s ${source} (${image.Id.slice(0, 19)}), not rebuilt`;
}

/** Removes a pruned release's image, under its local and its registry name. */
export async function removeReleaseImage(docker: Docker, app: string, releaseId: string, config: EnvironmentConfig): Promise<void> {
  for (const ref of new Set([imageRef(app, releaseId), imageRef(app, releaseId, config.registry)])) {
    await docker.getImage(ref).remove().catch(() => undefined);
  }
}

/**
 * The app's images that lost their tag (a rebuilt `<app>:ci`, say): nothing can run them by name any more. The
 * builder's untagged intermediate layers carry no ferry label and stay: they are the build cache.
 */
export async function removeDanglingImages(docker: Docker, app: string): Promise<number> {
  const dangling = await docker.listImages({ filters: { label: [`${LABEL.app}=${app}`], dangling: ['true'] } });
  let removed = 0;
  for (const image of dangling) await docker.getImage(image.Id).remove().then(() => removed++, () => undefined);
  return removed;
}
