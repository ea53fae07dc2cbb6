/** The lifecycle of one migration in the changelog. */
export type MigrationState = 'running' | 'applied' | 'failed' | 'rolled_back';
export type Direction = 'up' | 'down';
export type DatabaseKind = 'postgres' | 'mongodb';

/** One changelog record: a table row in PostgreSQL, a document in MongoDB. */
export interface ChangelogEntry {
  name: string;
  checksum: string;
  state: MigrationState;
  /** Which way the last run went. */
  direction: Direction;
  startedAt: Date;
  finishedAt: Date | null;
  durationMs: number | null;
  release: string | null;
  deployment: number | null;
  host: string;
  pid: number;
  error: string | null;
}

/** A migration file on disk. */
export interface MigrationFile {
  name: string;
  path: string;
  /** SHA-256 of the file's bytes, hex. */
  checksum: string;
  source: string;
}

/** What must hold after a migration ran; checked by `ferry migrate verify` and after each run. */
export interface VerifySpec {
  /** PostgreSQL: tables that must exist. */
  tables?: string[];
  /** PostgreSQL: columns that must exist, per table. */
  columns?: Record<string, string[]>;
  /** Both: index names that must exist, per table or collection. */
  indexes?: Record<string, string[]>;
  /** MongoDB: collections that must exist. */
  collections?: string[];
  /** MongoDB: the $jsonSchema each collection's validator must be; no document may violate it. */
  validators?: Record<string, Record<string, unknown>>;
}

export interface MigrationContext {
  kind: DatabaseKind;
  /** PostgreSQL: the pg client inside the migration's transaction (same as `db`). MongoDB: the MongoClient. */
  client: unknown;
  /** MongoDB on a replica set: the session of the migration's transaction; pass it to every operation. */
  session?: unknown;
  /** Aborted when the migration's timeout passes. */
  signal: AbortSignal;
  log: (message: string) => void;
  release: string | null;
  env: string;
}

/** A loaded migration module. */
export interface MigrationModule {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the driver's own handle (a pg.Client or a mongodb Db), typed by the migration file
  up: (db: any, ctx: MigrationContext) => Promise<unknown> | unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as for up
  down?: (db: any, ctx: MigrationContext) => Promise<unknown> | unknown;
  verify?: VerifySpec;
  /** MongoDB: set false for a migration that cannot run in a transaction (most DDL). */
  transaction?: boolean;
  /** A contract step: says why removing what it removes is safe for the serving release (strict mode accepts it). */
  destructive?: string;
}

export interface LockOwner {
  id: string;
  host: string;
  pid: number;
}

export interface LockHolder extends LockOwner {
  acquiredAt: Date;
  heartbeatAt: Date;
}

export type LockAttempt = { acquired: true } | { acquired: false; holder?: LockHolder };

/** Who is running: recorded with each changelog entry. */
export interface RunContext {
  env: string;
  release: string | null;
  deployment: number | null;
  owner: LockOwner;
}
