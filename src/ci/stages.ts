import type { StageConfig } from '../config/schema.js';
import { shellWord } from '../util/shell.js';

export interface ProjectFacts {
  scripts: Record<string, string>;
  hasTsconfig: boolean;
  hasDockerfile: boolean;
  /** The Dockerfile builds the app itself (a `RUN npm run build` stage), so the image need not wait for the host's build. */
  dockerfileBuilds: boolean;
  app: string;
  /** trivy is on PATH here: without it the image scan is skipped (and says so) rather than run to say "not scanned". */
  hasTrivy?: boolean;
  /** How the deployed image is built (the first environment with the docker or swarm runtime): its Dockerfile and build_args. */
  image?: { dockerfile: string; buildArgs: Record<string, string> };
  /** ferry.yml has environments and none runs containers: no deploy would use the image. */
  noContainerEnvironment?: boolean;
  /** A second tag for the image, which a deploy of the same git tree and build settings finds and runs (see pipelineImageTag). */
  deployableTag?: string;
}

/** The image stage's build: the environment's Dockerfile and build_args (BASE_IMAGE from the environment of the run may override). */
function imageBuild(facts: ProjectFacts, image: string): string {
  const args = Object.entries(facts.image?.buildArgs ?? {}).filter(([name]) => name !== 'BASE_IMAGE' || !facts.image?.buildArgs.BASE_IMAGE);
  const baseImage = facts.image?.buildArgs.BASE_IMAGE;
  const base = baseImage ? `--build-arg BASE_IMAGE=\${BASE_IMAGE:-${shellWord(baseImage)}}` : '${BASE_IMAGE:+--build-arg BASE_IMAGE=$BASE_IMAGE}';
  const file = facts.image && facts.image.dockerfile !== 'Dockerfile' ? ` -f ${shellWord(facts.image.dockerfile)}` : '';
  const tags = [image, ...(facts.deployableTag ? [facts.deployableTag] : [])].map((tag) => `-t ${tag}`).join(' ');
  return ['docker build', base, ...args.map(([name, value]) => `--build-arg ${shellWord(`${name}=${value}`)}`), `${tags}${file} .`].join(' ');
}

/** What ferry runs for a Node project when ferry.yml names no stages. */
export const DEFAULT_STAGE_ORDER = ['lint', 'typecheck', 'audit', 'licenses', 'test', 'coverage', 'build', 'image', 'image-scan'] as const;

export type PlannedStage = StageConfig & { name: string; skip?: string };

const stage = (name: string, run: string, needs: string[] = [], skip?: string): PlannedStage => ({ name, run, needs, timeout: '30m', skip });

/** A Dockerfile line that runs the project's build script: such an image is built from the sources alone. */
export const DOCKERFILE_BUILDS = /^\s*RUN\b.*\b(?:npm run(?:-script)?|yarn(?: run)?|pnpm(?: run)?)\s+build(?=\s|$|[;&|])/m;

/**
 * The default pipeline: independent checks run at once; the app build waits for them. The image waits for the
 * build only when its Dockerfile copies the host's build output; one that builds the app itself (ferry init's
 * does) starts at once, beside the checks, and a failing check still cancels it. The image scan waits for the
 * image. A stage whose tool the project lacks is kept and skipped, with the reason.
 */
export function defaultStages(facts: ProjectFacts): PlannedStage[] {
  const has = (script: string) => Boolean(facts.scripts[script]);
  const image = `${facts.app}:ci`;
  const imageSkip = !facts.hasDockerfile ? 'no Dockerfile' : facts.noContainerEnvironment ? 'no environment runs containers (every one has runtime: process): no deploy would use the image' : undefined;
  return [
    stage('lint', 'npm run lint', [], has('lint') ? undefined : 'package.json has no "lint" script'),
    stage('typecheck', has('typecheck') ? 'npm run typecheck' : 'npx tsc --noEmit', [], has('typecheck') || facts.hasTsconfig ? undefined : 'no "typecheck" script and no tsconfig.json'),
    stage('audit', 'ferry scan --tool npm-audit'),
    stage('licenses', 'ferry scan --tool licenses'),
    stage('test', 'npm test', [], has('test') ? undefined : 'package.json has no "test" script'),
    stage('coverage', 'npm run coverage', [], has('coverage') ? undefined : 'package.json has no "coverage" script'),
    stage('build', 'npm run build', ['lint', 'typecheck', 'test'], has('build') ? undefined : 'package.json has no "build" script'),
    // BASE_IMAGE from the environment reaches Dockerfiles that take it as a build argument (ferry init's do).
    stage('image', imageBuild(facts, image), facts.dockerfileBuilds ? [] : ['build'], imageSkip),
    stage('image-scan', `ferry scan --tool trivy --image ${image}`, ['image'], imageSkip ?? (facts.hasTrivy === false ? 'trivy is not installed here: the image is not scanned' : undefined)),
  ];
}

/** `pipeline.skip`: those stages stay in the table, skipped with the reason; a name that is not a stage is refused. */
export function applySkips(stages: PlannedStage[], skip: string[]): PlannedStage[] {
  const unknown = skip.filter((name) => !stages.some((s) => s.name === name));
  if (unknown.length) throw new Error(`pipeline.skip names ${unknown.join(', ')}, which ${unknown.length > 1 ? 'are not stages' : 'is not a stage'} of this pipeline (${stages.map((s) => s.name).join(', ')})`);
  return stages.map((s) => (skip.includes(s.name) ? { ...s, skip: 'turned off by pipeline.skip in ferry.yml' } : s));
}
