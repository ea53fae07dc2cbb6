import { stopInstances } from '../instances.js';
import type { Step } from '../step.js';
import { changedSince } from '../shared-writes.js';
import { someFiles } from '../../runtime/shared-data.js';

/** Two releases ran at once over the same data, and something wrote to it meanwhile. */
function overlapWarning(changed: string[], previous: string | null, release: string | undefined, env: string): string {
  const shown = someFiles(changed);
  return `${changed.length} file(s) changed in ${env}'s shared data while ${previous ?? 'the old release'} and ${release ?? 'the new one'} both ran (from the start of the new instances to the end of the drain): ${shown}. Two releases writing the same files can lose writes (each overwrites what the other wrote). If the app keeps state in files, set strategy: recreate for ${env} (one release at a time; requests are held while it restarts), or keep that state in a database.`;
}

/** The old release's in-flight requests finish (up to `drain`), then SIGTERM, then SIGKILL after `stop_grace`. */
export const drain: Step = {
  name: 'drain',
  async run(ctx) {
    const said = (await stopInstances(ctx.deps, ctx.previous.instanceIds, ctx.config, (message) => ctx.progress(message))).join('; ');
    if (ctx.dataBefore) {
      const changed = changedSince(ctx.dataBefore.snapshot, ctx.dataBefore.dirs);
      if (changed.length) ctx.warn(overlapWarning(changed, ctx.previous.release, ctx.release?.id, ctx.request.env));
    }
    return said;
  },
};
