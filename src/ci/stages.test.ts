import { describe, expect, it } from 'vitest';
import { defaultStages, DOCKERFILE_BUILDS } from './stages.js';

const facts = { scripts: { build: 'tsc', test: 'vitest run' }, hasTsconfig: true, hasDockerfile: true, app: 'svc' };
const needs = (dockerfileBuilds: boolean) => Object.fromEntries(defaultStages({ ...facts, dockerfileBuilds }).map((s) => [s.name, s.needs]));

describe('the default pipeline', () => {
  it('builds the image beside the checks when the Dockerfile builds the app itself', () =>
    expect(needs(true)).toMatchObject({ build: ['lint', 'typecheck', 'test'], image: [], 'image-scan': ['image'] }));
  it('waits for the host build when the Dockerfile copies its output', () => expect(needs(false)).toMatchObject({ image: ['build'], 'image-scan': ['image'] }));
  it("builds the image the way the deploy does: the environment's Dockerfile and build_args, quoted for sh", () => {
    const run = (image?: { dockerfile: string; buildArgs: Record<string, string> }) => defaultStages({ ...facts, dockerfileBuilds: true, image }).find((s) => s.name === 'image')!.run;
    expect(run()).toBe('docker build ${BASE_IMAGE:+--build-arg BASE_IMAGE=$BASE_IMAGE} -t svc:ci .');
    expect(run({ dockerfile: 'deploy/Dockerfile', buildArgs: { BASE_IMAGE: 'registry.local/node:20', NPM_FLAGS: "--omit=dev it's" } })).toBe(
      "docker build --build-arg BASE_IMAGE=${BASE_IMAGE:-registry.local/node:20} --build-arg 'NPM_FLAGS=--omit=dev it'\\''s' -t svc:ci -f deploy/Dockerfile .",
    );
  });
  it('recognises a Dockerfile that runs the build script', () => {
    for (const line of ['RUN npm run build', 'RUN npm ci && npm run build && npm prune --omit=dev', 'RUN yarn build', 'RUN pnpm run build', 'RUN npm run-script build'])
      expect(DOCKERFILE_BUILDS.test(`FROM node\n${line}\n`), line).toBe(true);
    for (const text of ['COPY dist ./dist\nRUN npm ci', '# RUN npm run build\n', 'RUN npm run build:docs\n'])
      expect(DOCKERFILE_BUILDS.test(text), text).toBe(false);
  });
});
