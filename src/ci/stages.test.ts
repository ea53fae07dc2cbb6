import { describe, expect, it } from 'vitest';
import { defaultStages, DOCKERFILE_BUILDS } from './stages.js';

const facts = { scripts: { build: 'tsc', test: 'vitest run' }, hasTsconfig: true, hasDockerfile: true, app: 'svc' };
const needs = (dockerfileBuilds: boolean) => Object.fromEntries(defaultStages({ ...facts, dockerfileBuilds }).map((s) => [s.name, s.needs]));

describe('the default pipeline', () => {
  it('builds the image beside the checks when the Dockerfile builds the app itself', () =>
    expect(needs(true)).toMatchObject({ build: ['lint', 'typecheck', 'test'], image: [], 'image-scan': ['image'] }));
  it('waits for the host build when the Dockerfile copies its output', () => expect(needs(false)).toMatchObject({ image: ['build'], 'image-scan': ['image'] }));
  it('recognises a Dockerfile that runs the build script', () => {
    for (const line of ['RUN npm run build', 'RUN npm ci && npm run build && npm prune --omit=dev', 'RUN yarn build', 'RUN pnpm run build', 'RUN npm run-script build'])
      expect(DOCKERFILE_BUILDS.test(`FROM node\n${line}\n`), line).toBe(true);
    for (const text of ['COPY dist ./dist\nRUN npm ci', '# RUN npm run build\n', 'RUN npm run build:docs\n'])
      expect(DOCKERFILE_BUILDS.test(text), text).toBe(false);
  });
});
