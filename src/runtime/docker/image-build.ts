import { createReadStream, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { FerryError } from '../../util/errors.js';
import { archiveContext } from './build-context.js';
import { engineUnreachableError, followEngineStream, isEngineUnreachable } from './engine.js';

const LAST_LINES = 20;

export interface ImageBuild {
  contextDir: string;
  dockerfile: string;
  tag: string;
  buildArgs: Record<string, string>;
  labels: Record<string, string>;
  timeoutMs: number;
  onLine: (line: string) => void;
}

/** What a build did: its steps, and how many the engine took from its build cache. */
export interface BuildSummary {
  steps: number;
  cached: number;
}

/** Builds an image through the Engine API from a tar of the release directory (made with tar's argv, no shell). */
export async function buildImage(docker: Docker, build: ImageBuild): Promise<BuildSummary> {
  if (!existsSync(join(build.contextDir, build.dockerfile))) {
    throw new FerryError({ code: 'DOCKERFILE_MISSING', message: `${build.dockerfile} does not exist in the release (${build.contextDir})`, hint: 'Commit a Dockerfile, or set dockerfile: in ferry.yml to its path relative to the project root.' });
  }
  // The context goes to a file first, so the engine always gets a complete archive of known length.
  const contextTar = join(build.contextDir, '..', `.context-${process.pid}-${Date.now()}.tar`);
  try {
    const labelled = labelledDockerfile(readFileSync(join(build.contextDir, build.dockerfile), 'utf8'), build.labels);
    await archiveContext(build.contextDir, build.dockerfile, contextTar, labelled ? { name: LABELLED_DOCKERFILE, content: labelled } : undefined);
    return await buildFromArchive(docker, labelled ? { ...build, dockerfile: LABELLED_DOCKERFILE, labels: {} } : build, contextTar);
  } finally {
    rmSync(contextTar, { force: true });
    rmSync(`${contextTar}.list`, { force: true });
  }
}

/** The name, at the context's root, of the project's Dockerfile with ferry's labels appended. */
export const LABELLED_DOCKERFILE = '.ferry-labelled.Dockerfile';

/**
 * The Dockerfile with one LABEL line for all of ferry's labels. The legacy builder turns the build API's `labels`
 * into one step per label, and on a storage driver without copy-on-write (vfs) each step copies the whole image.
 */
export function labelledDockerfile(dockerfile: string, labels: Record<string, string>): string | undefined {
  const pairs = Object.entries(labels).map(([key, value]) => `${JSON.stringify(key)}=${JSON.stringify(value)}`);
  return pairs.length ? `${dockerfile.replace(/\n*$/, '\n')}LABEL ${pairs.join(' ')}\n` : undefined;
}

async function buildFromArchive(docker: Docker, build: ImageBuild, contextTar: string): Promise<BuildSummary> {
  const lines: string[] = [];
  const summary: BuildSummary = { steps: 0, cached: 0 };
  const say = (text: string) => {
    // eslint-disable-next-line no-control-regex
    for (const line of text.replace(/\u001b\[[0-9;]*m/g, '').split('\n')) {
      if (!line.trim()) continue;
      lines.push(line);
      if (/^Step \d+\/\d+ :/.test(line)) summary.steps++;
      // The step just announced came from the build cache: said on a line of its own, as the step's outcome.
      if (/^\s*---> Using cache$/.test(line)) {
        summary.cached++;
        build.onLine('  (from the build cache)');
      }
      // Layer ids and intermediate-container chatter stay in the failure's last lines, not in the progress.
      if (!/^\s*(--->|Removing intermediate container)/.test(line)) build.onLine(line);
    }
  };
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.buildImage(createReadStream(contextTar), { t: build.tag, dockerfile: build.dockerfile, buildargs: build.buildArgs, labels: build.labels, rm: true, forcerm: true });
  } catch (error) {
    if (isEngineUnreachable(error)) throw engineUnreachableError(docker, `building ${build.tag}`, error);
    throw new FerryError({ code: 'IMAGE_BUILD_FAILED', message: `the Docker engine refused the build of ${build.tag}: ${(error as Error).message}`, hint: 'Is the Docker engine running? `docker info` tells.' });
  }
  const failure = await followEngineStream(docker, stream, build.timeoutMs, (event) => {
    if (event.stream) say(event.stream);
    else if (event.status) say(event.status);
    if (event.error) say(event.errorDetail?.message ?? event.error);
  });
  if (failure?.connectionLost) throw engineUnreachableError(docker, `building ${build.tag}`, new Error(failure.reason));
  if (failure) {
    throw new FerryError({ code: 'IMAGE_BUILD_FAILED', message: `docker build of ${build.tag} failed: ${failure.reason}; last lines:\n${lines.slice(-LAST_LINES).join('\n')}` });
  }
  return summary;
}
