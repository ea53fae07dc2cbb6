import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readProjectFacts } from './project-facts.js';

let dir: string | undefined;
afterEach(() => dir && rmSync(dir, { recursive: true, force: true }));

const factsOf = (manifest: object) => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-facts-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest));
  return readProjectFacts(dir);
};

describe("the start command init proposes", () => {
  it('is the start script itself when nothing runs around it', () => {
    expect(factsOf({ scripts: { start: 'node .' } }).start).toBe('node .');
  });

  it('goes through the package manager when prestart or poststart would run around start (a file prestart writes)', () => {
    expect(factsOf({ scripts: { prestart: 'node lib/seed.js', start: 'node .' } }).start).toBe('npm start');
    expect(factsOf({ scripts: { start: 'node .', poststart: 'echo up' } }).start).toBe('npm start');
  });

  it('is not `npm start` when start runs a dev tool: start:prod still wins, prestart or not', () => {
    expect(factsOf({ scripts: { prestart: 'npm run build', start: 'nest start', 'start:prod': 'node dist/main' } }).start).toBe('node dist/main');
  });
});
