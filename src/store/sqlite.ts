import { createRequire } from 'node:module';
import { FerryError, errorMessage } from '../util/errors.js';

/** What the store asks of a statement: the shape better-sqlite3 and node:sqlite share. */
export interface Statement {
  run(...params: unknown[]): { changes: number | bigint; lastInsertRowid: number | bigint };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

/** A transaction made from a function: call it (BEGIN), or `.immediate()` (BEGIN IMMEDIATE, takes the write lock first). */
export interface Transaction<T> {
  (): T;
  immediate(): T;
}

/** The part of a SQLite connection ferry uses; either driver provides it. */
export interface Sqlite {
  prepare(sql: string): Statement;
  exec(sql: string): void;
  /** `PRAGMA <text>`; with `simple`, the first column of the first row. */
  pragma(text: string, options?: { simple: boolean }): unknown;
  transaction<T>(fn: () => T): Transaction<T>;
  close(): void;
}

const require = createRequire(import.meta.url);

/** A native module built for another Node, or not built at all: the cases where node:sqlite can stand in. */
const NATIVE_UNAVAILABLE = /NODE_MODULE_VERSION|different Node\.js version|Could not locate the bindings file|Cannot find module 'better-sqlite3'|ERR_DLOPEN_FAILED|invalid ELF header/;

/** Why better-sqlite3 did not load, once it did not: later opens go straight to node:sqlite. */
let nativeFailure: string | undefined;

/**
 * better-sqlite3 12 aborts the process on Node 24 (its Statement destructor removes an environment cleanup
 * hook after Node has torn the environment down: `Assertion failed: (env) != nullptr`, seen here under the
 * agent's load). Its N-API rewrite (13) needs Node 22, so on 24 ferry uses the built-in driver.
 */
const nativeUnsafe = () => Number(process.versions.node.split('.')[0]) >= 24;

/**
 * Opens a SQLite file with better-sqlite3 on Node 20 and 22, and with Node's built-in node:sqlite on Node 24
 * and wherever better-sqlite3's native module cannot load (Node 22.13 and later have it).
 * `FERRY_SQLITE=better-sqlite3|node:sqlite` chooses outright. Neither available: an error that says which
 * Node this is and how to get a driver, not a stack trace.
 */
export function openSqlite(path: string): Sqlite {
  const wanted = process.env.FERRY_SQLITE;
  if (wanted === 'node:sqlite') return openBuiltin(path, 'FERRY_SQLITE=node:sqlite');
  if (nativeFailure) return builtin() ? openBuiltin(path, nativeFailure) : unavailable(nativeFailure);
  if (wanted !== 'better-sqlite3' && nativeUnsafe() && builtin()) return openBuiltin(path, `Node ${process.versions.node}`);
  try {
    const Database = require('better-sqlite3') as new (file: string) => Sqlite;
    const db = new Database(path);
    return db;
  } catch (error) {
    if (!NATIVE_UNAVAILABLE.test(errorMessage(error)) && (error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw error;
    nativeFailure = `better-sqlite3 does not load on Node ${process.versions.node}: ${oneLine(errorMessage(error))}`;
  }
  if (!builtin()) return unavailable(nativeFailure);
  process.stderr.write(`ferry: ${nativeFailure}; using Node's built-in node:sqlite instead.\n`);
  return openBuiltin(path, nativeFailure);
}

function unavailable(reason: string): never {
  throw new FerryError({
    code: 'SQLITE_UNAVAILABLE',
    message: `${reason}; and this Node has no built-in node:sqlite (Node 22.13 and later have it)`,
    hint: "Rebuild the native module for this Node: `npm rebuild better-sqlite3` in ferry's folder (it needs python3, make and a C++ compiler; `npm_config_nodedir=<node headers>` where nodejs.org is out of reach). Or run ferry on Node 22.13 or later.",
  });
}

const oneLine = (text: string) => text.replace(/\s*\n\s*/g, ' ').trim();

interface BuiltinModule {
  DatabaseSync: new (path: string) => {
    prepare(sql: string): Statement;
    exec(sql: string): void;
    close(): void;
  };
}

function builtin(): BuiltinModule | undefined {
  // Node 22 marks node:sqlite experimental and warns once on load; the warning says nothing a user can act on.
  const emitWarning = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    if (!/SQLite is an experimental feature/.test(String(warning))) (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    return (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule?.('node:sqlite') as BuiltinModule | undefined;
  } finally {
    process.emitWarning = emitWarning;
  }
}

function openBuiltin(path: string, reason: string): Sqlite {
  const module = builtin();
  if (!module) throw new FerryError({ code: 'SQLITE_UNAVAILABLE', message: `${reason}; this Node (${process.versions.node}) has no node:sqlite`, hint: 'Use Node 22.13 or later, or unset FERRY_SQLITE to use better-sqlite3.' });
  const db = new module.DatabaseSync(path);
  let depth = 0;
  const transaction = <T>(fn: () => T, begin: string): T => {
    // Nested transactions are savepoints, as better-sqlite3 does.
    const savepoint = `ferry_${depth}`;
    db.exec(depth === 0 ? begin : `SAVEPOINT ${savepoint}`);
    depth++;
    try {
      const result = fn();
      depth--;
      db.exec(depth === 0 ? 'COMMIT' : `RELEASE ${savepoint}`);
      return result;
    } catch (error) {
      depth--;
      db.exec(depth === 0 ? 'ROLLBACK' : `ROLLBACK TO ${savepoint}; RELEASE ${savepoint}`);
      throw error;
    }
  };
  return {
    prepare: (sql) => db.prepare(sql),
    exec: (sql) => db.exec(sql),
    pragma: (text, options) => {
      const rows = db.prepare(`PRAGMA ${text}`).all() as Record<string, unknown>[];
      return options?.simple ? (rows[0] ? Object.values(rows[0])[0] : undefined) : rows;
    },
    transaction: <T>(fn: () => T) => Object.assign(() => transaction(fn, 'BEGIN'), { immediate: () => transaction(fn, 'BEGIN IMMEDIATE') }),
    close: () => db.close(),
  };
}
