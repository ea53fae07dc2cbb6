import type { ChangelogEntry, DatabaseKind, Direction, LockAttempt, LockHolder, LockOwner, MigrationFile, MigrationModule, RunContext, VerifySpec } from './types.js';

export interface MigrationRun {
  file: MigrationFile;
  module: MigrationModule;
  direction: Direction;
}

/** What a runner that lost the lock says: it was taken over, most likely while this runner was paused past lock_ttl. */
export const lostLockError = (owner: LockOwner) =>
  new Error(`this runner (${owner.host} pid ${owner.pid}) no longer holds the migration lock: it was taken over, most likely while this runner was paused past lock_ttl; the migration was not committed`);

export interface RunOptions {
  timeoutMs: number;
  log: (message: string) => void;
}

/**
 * What the runner needs from a database: the changelog, an atomic lock with a heartbeat, and running one
 * migration so that it and its changelog entry commit together where the database allows.
 */
export interface MigrationDatabase {
  readonly kind: DatabaseKind;
  /** The database's address with any password removed, for messages. */
  readonly address: string;
  /** Creates the changelog and the lock record if they are missing (safe to run concurrently); read-only commands never call it. */
  prepare(): Promise<void>;
  entries(): Promise<ChangelogEntry[]>;
  lockHolder(): Promise<LockHolder | undefined>;
  /** One attempt; never waits. Takes over a lock whose heartbeat is older than ttlMs. */
  tryLock(owner: LockOwner, ttlMs: number): Promise<LockAttempt & { tookOverFrom?: LockHolder; orphansEnded?: number }>;
  /** Renews the lock; throws when the lock is no longer this owner's. */
  heartbeat(owner: LockOwner): Promise<void>;
  unlock(owner: LockOwner): Promise<void>;
  /** Records (and commits) the `running` entry before the migration starts, so a crash leaves a trace. */
  recordStart(run: MigrationRun, context: RunContext): Promise<void>;
  /**
   * Runs the migration and verifies it; on success records applied (or rolled_back for down) in the same
   * transaction where possible. On failure, rolls back where possible, records `failed` with the error, and throws.
   */
  run(run: MigrationRun, context: RunContext, options: RunOptions): Promise<{ durationMs: number; transactional: boolean }>;
  /** `ferry migrate resolve`: says what happened to a failed or interrupted migration, or accepts an edited file. */
  resolve(name: string, state: 'applied' | 'rolled_back', checksum: string | undefined, context: RunContext): Promise<ChangelogEntry | undefined>;
  /** Mismatches between what the spec says must hold and what the database holds; empty when all holds. */
  verify(spec: VerifySpec): Promise<string[]>;
  close(): Promise<void>;
}

/** A connection URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(an unparseable URL)';
  }
}

/** Starts a timer that aborts after timeoutMs; `clear` stops it. */
export function deadline(timeoutMs: number): { signal: AbortSignal; clear: () => void; expired: Promise<never> } {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new MigrationTimeout(timeoutMs));
    }, timeoutMs);
  });
  expired.catch(() => undefined);
  return { signal: controller.signal, clear: () => clearTimeout(timer), expired };
}

export class MigrationTimeout extends Error {
  constructor(readonly timeoutMs: number) {
    super(`timed out after ${timeoutMs}ms`);
  }
}
