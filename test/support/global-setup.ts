import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One state root for the whole run: every test's ferry keeps its state there (the default location logic still decides the folder). */
export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'ferry-state-'));
  process.env.XDG_STATE_HOME = root;
  return () => {
    if (!process.env.FERRY_TEST_DEBUG) rmSync(root, { recursive: true, force: true });
  };
}
