import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO_ROOT } from '../../test/support/project.js';

const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? files(join(dir, entry.name)) : entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [join(dir, entry.name)] : []));

describe('the runtime boundary', () => {
  it('nothing outside src/runtime/ imports a runtime’s internals (process/, docker/, swarm/): only runtime.ts and registry.ts', () => {
    const src = join(REPO_ROOT, 'src');
    const offenders = files(src)
      .filter((file) => !relative(src, file).startsWith('runtime/'))
      .filter((file) => /from '[./]*\/?runtime\/(process|docker|swarm)\//.test(readFileSync(file, 'utf8')))
      .map((file) => relative(src, file));
    expect(offenders).toEqual([]);
  });
});
