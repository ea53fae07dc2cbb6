import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { EnvironmentConfig } from '../config/schema.js';
import type { RouterClient } from '../router/client.js';
import type { Runtimes } from '../runtime/registry.js';
import type { Store } from '../store/store.js';
import type { StatePaths } from '../state/paths.js';
import { planBackupPrune, planReleasePrune } from './prune-plan.js';
import { listDirs, removeDir } from './release-files.js';

/** Deletes one environment's releases (their stopped instances, logs and images) and backups beyond `retain`; never what `keep` names. */
export async function pruneEnvironment(
  deps: { store: Store; paths: StatePaths; router: RouterClient; runtimes: Runtimes },
  target: { app: string; env: string; config: EnvironmentConfig },
  keep: Set<string>,
): Promise<string> {
  const { store, paths, router, runtimes } = deps;
  const { env, config } = target;
  const live = store.releasesOf(env).filter((r) => r.state !== 'pruned');
  const doomed = planReleasePrune(live.map((r) => r.id), config.retain, keep);
  const snapshot = await router.state();
  for (const id of doomed) {
    for (const instance of Object.values(snapshot.instances)) {
      if (instance.env !== env || instance.release !== id || instance.state !== 'exited') continue;
      await runtimes.of(instance).remove(instance.id);
      rmSync(instance.logFile, { force: true });
    }
    await runtimes.get(config.runtime).removeRelease(target.app, id, config);
    removeDir(paths.release(env, id));
    store.setReleaseState(id, 'pruned');
  }
  const backups = planBackupPrune(listDirs(paths.backups(env)), config.retain);
  for (const name of backups) removeDir(join(paths.backups(env), name));
  const trees = pruneDependencyStore(paths);
  const known = new Set(Object.keys((await router.state()).instances));
  const leftovers = await runtimes.get(config.runtime).removeLeftovers?.(target.app, known).catch(() => undefined);
  return `removed ${doomed.length} release(s)${doomed.length ? ` (${doomed.join(', ')})` : ''}, ${backups.length} backup(s)${trees ? ` and ${trees} stored dependency tree(s) no release uses` : ''}${leftovers ? `, ${leftovers}` : ''}; kept ${config.retain}`;
}

/** Installed dependency trees that no remaining release of any environment names (its deps.json) are removed. */
function pruneDependencyStore(paths: StatePaths): number {
  const used = new Set<string>();
  for (const env of listDirs(join(paths.root, 'releases'))) {
    for (const release of listDirs(paths.releases(env))) {
      try {
        used.add((JSON.parse(readFileSync(join(paths.release(env, release), 'deps.json'), 'utf8')) as { key: string }).key);
      } catch {
        // no dependencies installed by ferry for this release
      }
    }
  }
  const unused = listDirs(paths.deps).filter((key) => /^[0-9a-f]{16}$/.test(key) && !used.has(key));
  for (const key of unused) removeDir(join(paths.deps, key));
  return unused.length;
}
