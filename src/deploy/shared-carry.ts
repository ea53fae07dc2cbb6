import { join } from 'node:path';
import { sharedFolders, type EnvironmentConfig } from '../config/schema.js';
import { mountsOf } from '../config/mounts.js';
import { filesUnder } from '../runtime/shared-data.js';
import { FerryError } from '../util/errors.js';
import { releaseTarget, type DeployContext } from './context.js';

/**
 * An environment that moves from the process runtime to containers keeps its data: each shared folder that
 * holds files goes into the named volume mounted at that folder (copied while the volume is still empty), or
 * the deploy halts, before anything changed, saying which volume would carry it. Returns what it did.
 */
export async function carrySharedData(ctx: DeployContext): Promise<string[]> {
  const previous = ctx.previous.release;
  if (ctx.config.runtime === 'process' || !previous) return [];
  const json = ctx.deps.store.releaseConfigJson(previous);
  const before = json ? (JSON.parse(json) as EnvironmentConfig) : undefined;
  if (!before || (before.runtime ?? 'process') !== 'process') return [];
  const { app } = ctx.request.config;
  const env = ctx.request.env;
  const mounts = mountsOf(ctx.config.volumes, app, env);
  const said: string[] = [];
  for (const folder of sharedFolders(before)) {
    const dir = join(ctx.deps.paths.shared(env), folder.path);
    const files = filesUnder(dir).length;
    if (files === 0) continue;
    if (mounts.some((m) => m.type === 'bind' && m.source === dir)) continue;
    const volume = mounts.find((m) => m.type === 'volume' && !m.readOnly && (m.target === folder.path || m.target.endsWith(`/${folder.path}`)));
    if (!volume || !ctx.runtime.seedVolume) {
      throw new FerryError({
        code: 'SHARED_DATA_NOT_CARRIED',
        message: `${env} moves from runtime process (${previous}) to ${ctx.config.runtime}, and its shared folder ${folder.path}/ holds ${files} file(s) in ${dir} that no volume of the new configuration carries: the containers would start without that data. Nothing was changed`,
        hint: `Add a named volume mounted at the folder, e.g. volumes: ["${folder.path.replace(/\W+/g, '-')}:/app/${folder.path}"] (ferry copies the folder into it at the next deploy, while the volume is empty), or a bind mount of ${dir}, or move the data yourself.`,
      });
    }
    said.push(await ctx.runtime.seedVolume(releaseTarget(ctx), volume.source, dir));
  }
  return said;
}
