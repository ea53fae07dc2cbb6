import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** ferry's own folder: the nearest folder above this file with ferry's package.json (above dist/, or dist-bench/src/). */
export const FERRY_ROOT = ((): string => {
  for (let dir = import.meta.dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'ferry') return dir;
  }
  return resolve(import.meta.dirname, '../..');
})();

/** The version of the ferry that is running, from its package.json. */
export const FERRY_VERSION: string = (JSON.parse(readFileSync(join(FERRY_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

let cachedBuild: string | undefined;

/** This ferry's build: its version and a digest of its compiled code (a rebuild of the same version is another build). */
export function ferryBuild(): string {
  if (cachedBuild) return cachedBuild;
  const hash = createHash('sha256').update(FERRY_VERSION);
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.js')) hash.update(`${relative(FERRY_ROOT, path)}:${statSync(path).size}\n`);
    }
  };
  walk(join(FERRY_ROOT, 'dist'));
  cachedBuild = `${FERRY_VERSION}-${hash.digest('hex').slice(0, 12)}`;
  return cachedBuild;
}
