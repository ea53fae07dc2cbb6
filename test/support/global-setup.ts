import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One state root for the whole run: every test's ferry keeps its state there (the default location logic still decides the folder). */
export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'ferry-state-'));
  process.env.XDG_STATE_HOME = root;
  return () => {
    if (process.env.FERRY_TEST_DEBUG) return;
    try {
      rmSync(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    } catch (error) {
      // Something still writes there (a process a failed test left running): said, not a failure of its own.
      console.warn(`could not remove the tests' state root ${root}: ${String(error)}`);
    }
  };
}
