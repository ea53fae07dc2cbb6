import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import dockerignoreModule from '@balena/dockerignore';
import { FerryError } from '../../util/errors.js';
import { run } from '../../util/run.js';

// A CommonJS module whose types declare an ES default export: under NodeNext the callable is `.default`.
const dockerignore = dockerignoreModule.default;

/**
 * The paths of a build context that `docker build` would send: everything under contextDir that
 * .dockerignore does not exclude (with Docker's own rules, `!` re-includes too), the parent
 * directories of what is kept, and always the Dockerfile and .dockerignore themselves.
 */
export function contextEntries(contextDir: string, dockerfile: string): string[] {
  const ignoreFile = join(contextDir, '.dockerignore');
  const rules = dockerignore({ ignorecase: false }).add(existsSync(ignoreFile) ? readFileSync(ignoreFile, 'utf8') : '');
  const always = new Set([posix.normalize(dockerfile), '.dockerignore']);
  const kept = new Set<string>();
  const keep = (path: string) => {
    for (let dir = posix.dirname(path); dir !== '.' && !kept.has(dir); dir = posix.dirname(dir)) kept.add(dir);
    kept.add(path);
  };
  const walk = (relative: string) => {
    for (const entry of readdirSync(join(contextDir, relative), { withFileTypes: true })) {
      const path = relative ? `${relative}/${entry.name}` : entry.name;
      const included = always.has(path) || !rules.ignores(path);
      // A directory is walked even when ignored: a later `!` rule may bring back something inside it.
      if (entry.isDirectory()) {
        if (included && readdirSync(join(contextDir, path)).length === 0) keep(path);
        walk(path);
      } else if (included) {
        keep(path);
      }
    }
  };
  walk('');
  // Parents first, so the archive creates each directory before what it holds.
  return [...kept].sort();
}

/** A file ferry adds to the archive at its root, beside the project's own (a derived Dockerfile). */
export interface ExtraEntry {
  name: string;
  content: string;
}

/** Writes the context to a tar file (tar's argv and a NUL-separated list, never a shell string), plus `extra` if given. */
export async function archiveContext(contextDir: string, dockerfile: string, tarFile: string, extra?: ExtraEntry): Promise<void> {
  const listFile = `${tarFile}.list`;
  writeFileSync(listFile, contextEntries(contextDir, dockerfile).map((path) => `${path}\0`).join(''));
  const tar = async (args: string[]) => {
    const archived = await run('tar', args, { timeoutMs: 120_000 });
    if (archived.exitCode !== 0) {
      throw new FerryError({ code: 'IMAGE_BUILD_FAILED', message: `could not archive the build context ${contextDir}: ${archived.stderr.trim()}`, hint: `Check that ${dirname(tarFile)} is writable and has space.` });
    }
  };
  await tar(['-c', '-f', tarFile, '-C', contextDir, '--no-recursion', '--null', '-T', listFile]);
  if (!extra) return;
  const extraDir = mkdtempSync(join(dirname(tarFile), '.context-extra-'));
  try {
    writeFileSync(join(extraDir, extra.name), extra.content);
    await tar(['-r', '-f', tarFile, '-C', extraDir, extra.name]);
  } finally {
    rmSync(extraDir, { recursive: true, force: true });
  }
}
