import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * ferry's folders in layers, lowest first. A module imports only from its own folder and from folders in lower
 * layers (type-only imports and `import()` count: they are the same dependency), so no folder depends on one
 * that depends on it. The direction, top to bottom: the CLI; the agent's HTTP face and SSH hosts; the work
 * (deploy, CI, init); what it runs on (runtimes, metrics, TLS, migrations, scanners); the router (the data
 * plane: it never opens ferry.db); state and the store; configuration; and the ground everything stands on.
 */
const LAYERS: ReadonlyArray<readonly string[]> = [
  ['errors'],
  ['util'],
  // Build info, the environment ferry's processes and instances inherit, env files, file modes.
  ['shared'],
  ['config'],
  ['health', 'notify', 'store'],
  ['state'],
  ['router'],
  ['runtime', 'metrics', 'tls', 'migrate', 'scan'],
  ['deploy', 'ci', 'init', 'dev', 'setup'],
  ['agent'],
  ['remote'],
  ['cli'],
];

const SRC = import.meta.dirname;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Every import of one folder from another: `from → to` with the file and the specifier. */
function folderImports(): Array<{ from: string; to: string; where: string }> {
  const found: Array<{ from: string; to: string; where: string }> = [];
  for (const file of sourceFiles(SRC)) {
    const from = relative(SRC, file).split('/')[0]!;
    if (from.endsWith('.ts')) continue;
    for (const { fileName } of ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles) {
      if (!fileName.startsWith('.')) continue;
      const target = relative(SRC, resolve(dirname(file), fileName));
      const to = target.split('/')[0]!;
      if (to !== from && !target.startsWith('..')) found.push({ from, to, where: `${relative(SRC, file)} imports ${fileName}` });
    }
  }
  return found;
}

/** The folder cycles in a graph of folder edges (each as its folders in order), by depth-first search. */
function cycles(edges: Array<{ from: string; to: string }>): string[][] {
  const next = new Map<string, Set<string>>();
  for (const { from, to } of edges) next.set(from, (next.get(from) ?? new Set()).add(to));
  const found = new Map<string, string[]>();
  const walk = (node: string, path: string[]) => {
    for (const to of next.get(node) ?? []) {
      const at = path.indexOf(to);
      if (at >= 0) {
        // Each cycle once, from its alphabetically first folder.
        const cycle = path.slice(at);
        const first = cycle.indexOf([...cycle].sort()[0]!);
        found.set([...cycle].sort().join(','), [...cycle.slice(first), ...cycle.slice(0, first)]);
      } else walk(to, [...path, to]);
    }
  };
  for (const node of next.keys()) walk(node, [node]);
  return [...found.values()];
}

describe("ferry's layers", () => {
  const layerOf = new Map(LAYERS.flatMap((folders, layer) => folders.map((folder) => [folder, layer] as const)));
  const imports = folderImports();

  it('place every folder of src/', () => {
    const folders = readdirSync(SRC, { withFileTypes: true }).filter((e) => e.isDirectory() && e.name !== 'types' && sourceFiles(join(SRC, e.name)).length > 0);
    expect(folders.map((e) => e.name).filter((name) => !layerOf.has(name))).toEqual([]);
  });

  it('point one way: a folder imports only from lower layers', () => {
    const upward = imports.filter(({ from, to }) => layerOf.get(to)! >= layerOf.get(from)!);
    expect(upward.map(({ from, to, where }) => `${from} → ${to} (layer ${layerOf.get(from)} → ${layerOf.get(to)}): ${where}`)).toEqual([]);
  });

  it('leave no folder cycle', () => {
    expect(cycles(imports).map((cycle) => [...cycle, cycle[0]].join(' → '))).toEqual([]);
  });

  it('catch an upward import and a cycle when there is one', () => {
    // The checks above on a graph with the router opening the store's database and the store reading a deploy's files.
    const bad = [{ from: 'router', to: 'state' }, { from: 'state', to: 'store' }, { from: 'store', to: 'deploy' }, { from: 'deploy', to: 'router' }];
    expect(bad.filter(({ from, to }) => layerOf.get(to)! >= layerOf.get(from)!).map(({ from, to }) => `${from}→${to}`)).toEqual(['store→deploy']);
    expect(cycles(bad).map((c) => c.join(' → '))).toEqual(['deploy → router → state → store']);
  });
});
