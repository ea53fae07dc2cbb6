import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../config/load.js';
import { listDirs } from '../deploy/release-files.js';
import type { RouterSnapshot } from '../router/client.js';
import type { StatePaths } from '../state/paths.js';
import { releaseNumber } from '../store/records.js';
import type { Store } from '../store/store.js';

export interface Recovery {
  /** Releases found on disk that the database did not know, now known again (newest ids first). */
  releases: string[];
  /** The next deployment id, raised past every one the state folder already names. */
  nextDeploymentId: number;
}

const numbered = (names: string[], prefix: string) => names.filter((n) => new RegExp(`^${prefix}\\d+$`).test(n)).map((n) => Number(n.slice(prefix.length)));

/**
 * A database that lost its history (deleted, or replaced by a backup) must never hand out a release or
 * deployment id that the state folder or the router already use: release directories would be written
 * into, and instances mistaken for one another. Releases whose directories remain come back from their
 * manifests (with their ferry.yml snapshot, so they can serve and be rolled back to); ids continue past
 * every one in use.
 */
export function recoverFromStateFolder(store: Store, paths: StatePaths, snapshot: RouterSnapshot): Recovery {
  const recovered: string[] = [];
  let highestRelease = 0;
  let highestDeployment = 0;
  for (const env of listDirs(join(paths.root, 'releases'))) {
    for (const n of numbered(listDirs(paths.releases(env)), 'r')) {
      highestRelease = Math.max(highestRelease, n);
      const id = `r${n}`;
      if (store.release(id)) continue;
      const dir = paths.release(env, id);
      const manifest = readJson(join(dir, 'release.json')) as { commit?: string; ref?: string; createdAt?: string } | undefined;
      if (!manifest?.commit) continue;
      const config = releaseConfig(join(dir, 'ferry.yml'), env);
      store.restoreRelease({ id, env, commit: manifest.commit, ref: manifest.ref ?? '?', dir, configJson: config ?? '{}', state: config ? 'ready' : 'failed', createdAt: Date.parse(manifest.createdAt ?? '') || Date.now() });
      recovered.push(id);
    }
  }
  for (const env of listDirs(join(paths.root, 'backups'))) highestDeployment = Math.max(highestDeployment, ...numbered(listDirs(paths.backups(env)), 'd'));
  for (const instance of Object.values(snapshot.instances)) {
    highestRelease = Math.max(highestRelease, releaseNumber(instance.release) || 0);
    highestDeployment = Math.max(highestDeployment, Number(/-d(\d+)-\d+$/.exec(instance.id)?.[1] ?? 0));
  }
  store.raiseIdFloors({ release: highestRelease, deployment: highestDeployment });
  return { releases: recovered.sort((a, b) => releaseNumber(b) - releaseNumber(a)), nextDeploymentId: store.nextDeploymentId() };
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The environment's settings from a release's ferry.yml snapshot, as the database keeps them; undefined when unreadable. */
function releaseConfig(file: string, env: string): string | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const environment = parseConfig(readFileSync(file, 'utf8'), file).environments[env];
    return environment ? JSON.stringify(environment) : undefined;
  } catch {
    return undefined;
  }
}
