import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Folder names apps keep their data in (SQLite files, uploads, counters, caches they cannot lose). */
const DATA_NAMES = ['data', 'var', 'storage', 'uploads', 'upload', 'db', 'database', 'sqlite', '.data', 'files', 'attachments', 'persist'];
const NAMES = DATA_NAMES.map((name) => name.replace('.', '\\.')).join('|');
/** A path literal under a data folder: `'./data'`, `"./var/count.txt"`, `'storage/app.db'` (not a bare `'data'`, an event name, nor `'/data'`, a route). */
const PATH = `['"\`](?:\\./(${NAMES})(?:/[^'"\`\\s]*)?|(${NAMES})/[^'"\`\\s]*)['"\`]`;
/** What a path is relative to when it is the app's folder: `__dirname`, `process.cwd()`, `import.meta.dirname`, `'.'`. */
const ROOT = `(?:__dirname|process\\.cwd\\(\\)|import\\.meta\\.dirname|['"\`]\\.\\/?['"\`])`;
/**
 * In source: a path literal, or a `join(__dirname, 'uploads')` / `resolve(process.cwd(), "storage")`. Not a module
 * (`require('./db')`, `from './files'`, `import('./data')`: code beside the file), nor a later argument of a call
 * (`join(dataDir, 'upload/')` is under a folder of its own).
 */
const IN_SOURCE = new RegExp(`(?<!(?:require|import)\\(\\s*|\\bfrom\\s*|,\\s*)${PATH}|\\b(?:join|resolve)\\(\\s*${ROOT}\\s*,\\s*['"\`](?:\\./)?(${NAMES})(?:/[^'"\`\\s]*)?['"\`]`, 'g');
/** In a config file: a value `./storage` or `./data/app.db` (Verdaccio's `storage: ./storage`, a `.env.example`'s `DB_PATH=./data/app.db`). */
const IN_CONFIG = new RegExp(`(?:^|[\\s:="'])\\./(${NAMES})(?=[/\\s"',]|$)`, 'gm');
/** The config files searched, at the project's top or in config/: not package.json nor a lockfile. */
const CONFIG_FILE = /^(?!package(-lock)?\.json$)(?!.*lock).*\.(ya?ml|toml|ini|json|conf)$|^\.env\.(example|sample|defaults)$/;
const SOURCE_FILE = /\.(c|m)?(j|t)sx?$/;
/** Folders not searched for source: dependencies, build output, tests. */
const SKIPPED = new Set(['node_modules', 'dist', 'build', 'coverage', '.git', '.next', 'test', 'tests', '__tests__', 'public', 'static']);
/** Bounds on the source search, so init stays quick in a large repository. */
const MAX_FILES = 400;
export const MAX_FILE_BYTES = 256 * 1024;

export interface DataFolder {
  path: string;
  /** Why init thinks the app keeps data there (said in its `assumed` line). */
  from: string;
}

/** A folder pattern of a .gitignore line (`data/`, `/var`, `public/uploads/`, `storage/*`: its contents), or undefined for files, other globs and negations. */
function ignoredFolder(line: string): string | undefined {
  const text = line.trim().replace(/\/\*\*?$/, '/');
  if (!text || text.startsWith('#') || text.startsWith('!') || /[*?[\]\\]/.test(text)) return undefined;
  const path = text.replace(/^\//, '').replace(/\/$/, '');
  return /^[A-Za-z0-9_.@-]+(\/[A-Za-z0-9_.@-]+)*$/.test(path) && !path.includes('..') ? path : undefined;
}

/** Files that only keep an empty folder in git (`data/.gitkeep`, a `data/.gitignore` of `*`): the folder is still the app's to fill. */
const PLACEHOLDER = /(^|\/)(\.gitkeep|\.keep|\.gitignore|README(\.md)?)$/;

/** Whether the commit has files of its own under a folder (git's index, placeholders aside; without git, whether the folder is there). */
function committed(projectDir: string, folder: string): boolean {
  const listed = spawnSync('git', ['-C', projectDir, 'ls-files', '--', folder], { encoding: 'utf8' });
  if (listed.status !== 0) return existsSync(join(projectDir, folder));
  return listed.stdout.split('\n').some((file) => file && !PLACEHOLDER.test(file));
}

function configFiles(projectDir: string): string[] {
  return ['', 'config'].flatMap((sub) => {
    try {
      return readdirSync(join(projectDir, sub), { withFileTypes: true })
        .filter((entry) => entry.isFile() && CONFIG_FILE.test(entry.name))
        .map((entry) => join(projectDir, sub, entry.name));
    } catch {
      return [];
    }
  });
}

/** The project's own source files (not dependencies, build output or tests), up to MAX_FILES. */
export function sourceFiles(dir: string, found: string[] = []): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return found;
  }
  for (const entry of entries) {
    if (found.length >= MAX_FILES) break;
    if (entry.isDirectory()) {
      if (!SKIPPED.has(entry.name) && !entry.name.startsWith('.')) sourceFiles(join(dir, entry.name), found);
    } else if (entry.isFile() && SOURCE_FILE.test(entry.name) && !/\.(test|spec)\.|\.d\.ts$/.test(entry.name)) found.push(join(dir, entry.name));
  }
  return found;
}

/**
 * The folders a project's app writes data to that a new release would lose (each release is a fresh checkout):
 * what its .gitignore ignores by a data folder's name, and what its source names by one that the commit lacks
 * (the app makes it at run time), and what its config files name as `./<data name>`. `ferry init` proposes
 * them as `shared:`, so they live outside the releases and survive deploys and rollbacks.
 */
export function dataFolders(projectDir: string): DataFolder[] {
  const folders = new Map<string, string>();
  const gitignore = join(projectDir, '.gitignore');
  if (existsSync(gitignore)) {
    for (const line of readFileSync(gitignore, 'utf8').split('\n')) {
      const path = ignoredFolder(line);
      if (path && DATA_NAMES.includes(path.split('/').at(-1)!)) folders.set(path, '.gitignore ignores it');
    }
  }
  const checked = new Map<string, boolean>();
  const isCommitted = (name: string) => checked.get(name) ?? checked.set(name, committed(projectDir, name)).get(name)!;
  const files = [...sourceFiles(projectDir).map((file) => [file, IN_SOURCE] as const), ...configFiles(projectDir).map((file) => [file, IN_CONFIG] as const)];
  for (const [file, pattern] of files) {
    if (statSync(file).size > MAX_FILE_BYTES) continue;
    for (const match of readFileSync(file, 'utf8').matchAll(pattern)) {
      const name = match[1] ?? match[2] ?? match[3];
      // One the commit fills (it exists, and git does not ignore it) holds the release's own files, not data: not proposed.
      if (!name || [...folders.keys()].some((path) => path.split('/').at(-1) === name) || isCommitted(name)) continue;
      folders.set(name, `${relative(projectDir, file)} uses it, and the commit has no files there`);
    }
  }
  return [...folders].map(([path, from]) => ({ path, from })).sort((a, b) => a.path.localeCompare(b.path));
}
