import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { appNameFor } from '../config/app-name.js';
import { peekConfig } from '../config/peek.js';
import { readJsonOr, writeFileAtomic } from '../util/fs-atomic.js';
import { isProcessAlive, pidFileProcessAlive } from '../util/sleep.js';
import { adoptMovedState, tryMoveState } from './relocate.js';

/** Where a project's state lives, and what decided it (printed by `ferry status`). */
export interface StateLocation {
  dir: string;
  source: 'FERRY_STATE_DIR' | 'state_dir' | 'legacy' | 'default';
  /** Something the person should know: state found inside the project tree, say. */
  note?: string;
}

export const LEGACY_STATE_DIR = '.ferry';

const notices: string[] = [];

/** What this process did to the state's location that the person should hear once (a move), then forgets it. */
export function takeStateNotices(): string[] {
  return notices.splice(0);
}

/** The per-user state root: $XDG_STATE_HOME/ferry, else ~/.local/state/ferry (the XDG base directory default). */
export function userStateRoot(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_STATE_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), '.local', 'state'), 'ferry');
}

/** What ferry.yml says about the state, read leniently: an invalid file is reported by the command that loads it. */
function configHints(projectDir: string): { app?: string; stateDir?: string } {
  const raw = peekConfig(projectDir);
  return { app: typeof raw?.app === 'string' ? raw.app : undefined, stateDir: typeof raw?.state_dir === 'string' ? raw.state_dir : undefined };
}

function packageName(projectDir: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(projectDir, 'package.json'), 'utf8')) as { name?: string }).name;
  } catch {
    return undefined;
  }
}

const expandHome = (path: string, env: NodeJS.ProcessEnv) => (path === '~' || path.startsWith('~/') ? join(env.HOME || homedir(), path.slice(1)) : path);

/**
 * Where one project's state lives. In order: FERRY_STATE_DIR; ferry.yml's state_dir (relative to the
 * project); an existing <project>/.ferry with a database (state of an older ferry: used where it is, with a
 * note); else <user state root>/<app>-<hash of the project path>, outside the project tree so that test
 * runners, linters and tsc never walk the release copies. The hash keeps two checkouts of one app apart.
 */
export function stateLocation(projectDir: string, env: NodeJS.ProcessEnv = process.env): StateLocation {
  const project = resolve(projectDir);
  if (env.FERRY_STATE_DIR) return { dir: resolve(project, expandHome(env.FERRY_STATE_DIR, env)), source: 'FERRY_STATE_DIR' };
  const hints = configHints(project);
  if (hints.stateDir) return { dir: resolve(project, expandHome(hints.stateDir, env)), source: 'state_dir' };
  const legacy = join(project, LEGACY_STATE_DIR);
  const fallback = defaultStateDir(project, hints.app, env);
  if (existsSync(join(legacy, 'ferry.db')) && statSync(legacy).isDirectory()) {
    // Nothing of ferry runs from it: move it out (paths inside are rewritten on the next open).
    if (!anyProcessRunsFrom(legacy)) {
      writeFileAtomic(join(legacy, 'location'), legacy + '\n', 0o600);
      mkdirSync(dirname(fallback), { recursive: true, mode: 0o700 });
      if (tryMoveState(legacy, fallback)) {
        adoptMovedState(fallback);
        notices.push(`moved ferry's state from ${legacy} (inside the project, where test runners and linters walk) to ${fallback}`);
        return { dir: fallback, source: 'default' };
      }
    }
    return {
      dir: legacy,
      source: 'legacy',
      note: `ferry's state is in ${legacy}, inside the project, where an older ferry kept it: tools that walk the project (test runners, linters, tsc) see its release copies. ferry moves it to ${fallback} when nothing of it runs: \`ferry agent stop\`, then any ferry command; or set state_dir in ferry.yml.`,
    };
  }
  return { dir: defaultStateDir(project, hints.app, env), source: 'default' };
}

export function defaultStateDir(projectDir: string, app: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const project = resolve(projectDir);
  const name = app && /^[a-z0-9][a-z0-9-_]*$/.test(app) ? app : appNameFor(packageName(project) ?? basename(project));
  const hash = createHash('sha256').update(project).digest('hex').slice(0, 8);
  return join(userStateRoot(env), `${name}-${hash}`);
}

/** True when the agent or the router of a state folder is alive (their pid files name them). */
function anyProcessRunsFrom(root: string): boolean {
  const agent = readJsonOr<{ pid?: number } | null>(join(root, 'agent.json'), null)?.pid;
  return (agent !== undefined && isProcessAlive(agent)) || pidFileProcessAlive(join(root, 'router', 'router.pid'));
}
