import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../test/support/project.js';

/**
 * What loading the CLI's entry loads before any command runs: the modules its static imports reach (type-only
 * imports and `import()` inside commands do not count). Each command's module is imported when it runs, so
 * `ferry --version` and `ferry --help` start in about the time Node itself takes (bench:cli).
 */
function staticGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    const source = readFileSync(file, 'utf8');
    for (const match of source.matchAll(/^\s*(?:import|export)\s+(?!type\b)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm)) {
      const spec = match[1]!;
      if (spec.startsWith('node:')) continue;
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
        if (existsSync(target)) visit(target);
      } else packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  };
  visit(entry);
  return { files, packages };
}

describe("the CLI's entry", () => {
  it('loads commander and none of the heavy modules (ssh2, dockerode, acme-client, mongodb, pg, tsx, SQLite, zod, yaml…) until a command needs them', () => {
    const { files, packages } = staticGraph(join(REPO_ROOT, 'src/cli/main.ts'));
    expect([...packages].sort()).toEqual(['commander']);
    // And few of ferry's own modules: no command's.
    const own = [...files].map((file) => file.slice(join(REPO_ROOT, 'src/').length)).sort();
    expect(own).toEqual(['cli/main.ts', 'cli/output.ts', 'errors/codes.ts', 'errors/exit-codes.ts', 'shared/build-info.ts', 'util/duration.ts', 'util/errors.ts']);
  });

  it('ferry status, history and logs against a running agent load yaml and nothing heavier (no zod or ssh2): the agent validates ferry.yml', () => {
    const { packages } = staticGraph(join(REPO_ROOT, 'src/cli/read-commands.ts'));
    expect([...packages].sort()).toEqual(['yaml']);
  });
});
