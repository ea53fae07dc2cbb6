import { MongoClient, MongoServerError, type ClientSession, type Collection, type Db } from 'mongodb';
import { errorMessage } from '../util/errors.js';
import { deadline, lostLockError, redactUrl, type MigrationDatabase, type MigrationRun, type RunOptions } from './database.js';
import type { ChangelogEntry, LockHolder, LockOwner, RunContext, VerifySpec } from './types.js';

interface EntryDoc extends Omit<ChangelogEntry, 'name'> {
  _id: string;
  name: string;
}

interface LockDoc {
  _id: 'lock';
  owner: string;
  host: string;
  pid: number;
  acquiredAt: Date;
  heartbeatAt: Date;
  expiresAt: Date;
  fencedAt?: Date;
}

const DUPLICATE_KEY = 11000;
const toEntry = ({ _id, ...entry }: EntryDoc): ChangelogEntry => entry;
const toHolder = (doc: LockDoc): LockHolder => ({ id: doc.owner, host: doc.host, pid: doc.pid, acquiredAt: doc.acquiredAt, heartbeatAt: doc.heartbeatAt });

/** Keys in a stable order, so two equal $jsonSchema documents compare equal. */
const canonical = (value: unknown): string =>
  Array.isArray(value)
    ? `[${value.map(canonical).join(',')}]`
    : value && typeof value === 'object'
      ? `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`
      : JSON.stringify(value);

/**
 * MongoDB: the changelog is a collection, as migrate-mongo keeps it, with one document per migration. The lock
 * is one document with a fixed _id: taking it is an insert that the unique _id makes atomic; it carries the
 * owner and an expiry that the owner's heartbeat pushes forward (all times are the server's $$NOW), so a dead
 * owner's lock expires after lock_ttl. On a replica set a migration and its changelog update commit in one
 * transaction; on a standalone server they cannot, and the entry says `running` until the migration returns.
 */
export class MongoMigrations implements MigrationDatabase {
  readonly kind = 'mongodb' as const;
  readonly address: string;
  private client?: MongoClient;
  private replicaSet?: boolean;

  constructor(private readonly url: string, private readonly changelog: string) {
    this.address = redactUrl(url);
  }

  private async db(): Promise<Db> {
    if (!this.client) {
      this.client = new MongoClient(this.url, { appName: 'ferry-migrate', serverSelectionTimeoutMS: 10_000 });
      await this.client.connect();
    }
    return this.client.db();
  }

  private async entriesCollection(): Promise<Collection<EntryDoc>> {
    return (await this.db()).collection<EntryDoc>(this.changelog);
  }

  private async lockCollection(): Promise<Collection<LockDoc>> {
    return (await this.db()).collection<LockDoc>(`${this.changelog}_lock`);
  }

  /** Transactions need a replica set (or a sharded cluster). */
  private async supportsTransactions(): Promise<boolean> {
    if (this.replicaSet === undefined) {
      const hello = await (await this.db()).admin().command({ hello: 1 });
      this.replicaSet = Boolean(hello.setName) || hello.msg === 'isdbgrid';
    }
    return this.replicaSet;
  }

  async prepare(): Promise<void> {
    // The TTL index is the backstop that removes a dead owner's lock even when no runner comes to take it over.
    await (await this.lockCollection()).createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0, name: 'ferry_lock_expiry' });
  }

  async entries(): Promise<ChangelogEntry[]> {
    return (await (await this.entriesCollection()).find().sort({ _id: 1 }).toArray()).map(toEntry);
  }

  async lockHolder(): Promise<LockHolder | undefined> {
    const lock = await (await this.lockCollection()).findOne({ _id: 'lock', $expr: { $gt: ['$expiresAt', '$$NOW'] } });
    return lock ? toHolder(lock) : undefined;
  }

  async tryLock(owner: LockOwner, ttlMs: number) {
    const locks = await this.lockCollection();
    const before = await locks.findOne({ _id: 'lock' });
    try {
      // Matches only an expired lock; otherwise the upsert inserts _id "lock", which fails if a live one exists.
      const result = await locks.updateOne(
        { _id: 'lock', $expr: { $lte: ['$expiresAt', '$$NOW'] } },
        [{ $set: { owner: owner.id, host: owner.host, pid: owner.pid, acquiredAt: '$$NOW', heartbeatAt: '$$NOW', expiresAt: { $add: ['$$NOW', ttlMs] } } }],
        { upsert: true },
      );
      const tookOverFrom = result.matchedCount === 1 && before ? toHolder(before) : undefined;
      return { acquired: true as const, tookOverFrom };
    } catch (error) {
      if (!(error instanceof MongoServerError && error.code === DUPLICATE_KEY)) throw error;
      const holder = await locks.findOne({ _id: 'lock' });
      return { acquired: false as const, holder: holder ? toHolder(holder) : undefined };
    }
  }

  async heartbeat(owner: LockOwner): Promise<void> {
    const ttlMs = await this.lockTtlMs(owner);
    const result = await (await this.lockCollection()).updateOne({ _id: 'lock', owner: owner.id }, [{ $set: { heartbeatAt: '$$NOW', expiresAt: { $add: ['$$NOW', ttlMs] } } }]);
    if (result.matchedCount !== 1) throw new Error(`the migration lock is no longer held by ${owner.id}: it expired and another runner took it`);
  }

  /** The ttl the lock was taken with, so that heartbeats keep it. */
  private async lockTtlMs(owner: LockOwner): Promise<number> {
    const lock = await (await this.lockCollection()).findOne({ _id: 'lock', owner: owner.id });
    return lock ? lock.expiresAt.getTime() - lock.heartbeatAt.getTime() : 30_000;
  }

  async unlock(owner: LockOwner): Promise<void> {
    await (await this.lockCollection()).deleteOne({ _id: 'lock', owner: owner.id });
  }

  async recordStart(run: MigrationRun, context: RunContext): Promise<void> {
    const entries = await this.entriesCollection();
    const existing = await entries.findOne({ _id: run.file.name });
    await entries.replaceOne(
      { _id: run.file.name },
      {
        name: run.file.name,
        checksum: run.direction === 'up' || !existing ? run.file.checksum : existing.checksum,
        state: 'running',
        direction: run.direction,
        startedAt: new Date(),
        finishedAt: null,
        durationMs: null,
        release: context.release,
        deployment: context.deployment,
        host: context.owner.host,
        pid: context.owner.pid,
        error: null,
      },
      { upsert: true },
    );
  }

  async run(run: MigrationRun, context: RunContext, options: RunOptions) {
    const startedAt = Date.now();
    const db = await this.db();
    const entries = await this.entriesCollection();
    const transactional = run.module.transaction !== false && (await this.supportsTransactions());
    const session: ClientSession | undefined = transactional ? this.client!.startSession() : undefined;
    const timer = deadline(options.timeoutMs);
    try {
      if (!session) await this.fence(context.owner);
      session?.startTransaction({ writeConcern: { w: 'majority' } });
      const body = run.direction === 'up' ? run.module.up : run.module.down!;
      const ctx = { kind: this.kind, client: this.client, session, signal: timer.signal, log: options.log, release: context.release, env: context.env };
      await Promise.race([Promise.resolve(body(db, ctx)), timer.expired]);
      // A write to the lock document in the transaction: a takeover in between makes one of the two conflict.
      if (session) await this.fence(context.owner, session);
      const durationMs = Date.now() - startedAt;
      await entries.updateOne({ _id: run.file.name }, { $set: { state: run.direction === 'up' ? 'applied' : 'rolled_back', finishedAt: new Date(), durationMs, error: null } }, { session });
      await session?.commitTransaction();
      // Indexes and validators cannot be read inside a transaction: verify after the commit.
      if (run.direction === 'up' && run.module.verify) {
        const mismatches = await this.verify(run.module.verify);
        if (mismatches.length) throw new Error(`verification failed after the commit: ${mismatches.join('; ')}`);
      }
      return { durationMs, transactional };
    } catch (error) {
      if (session?.inTransaction()) await session.abortTransaction().catch(() => undefined);
      const message = transactional ? errorMessage(error) : `${errorMessage(error)} (MongoDB ran it without a transaction: what it did before failing remains)`;
      await entries.updateOne({ _id: run.file.name }, { $set: { state: 'failed', finishedAt: new Date(), durationMs: Date.now() - startedAt, error: message } });
      throw Object.assign(new Error(message), { cause: error });
    } finally {
      timer.clear();
      await session?.endSession().catch(() => undefined);
    }
  }

  /** Refuses to go on unless this runner still holds the lock (it may have been paused past lock_ttl and taken over). */
  private async fence(owner: LockOwner, session?: ClientSession): Promise<void> {
    const result = await (await this.lockCollection()).updateOne({ _id: 'lock', owner: owner.id }, { $currentDate: { fencedAt: true } }, { session });
    if (result.matchedCount !== 1) throw lostLockError(owner);
  }

  async resolve(name: string, state: 'applied' | 'rolled_back', checksum: string | undefined, context: RunContext) {
    const entries = await this.entriesCollection();
    const existing = await entries.findOne({ _id: name });
    if (!existing) return undefined;
    const error = existing.error ? `resolved as ${state} by ${context.owner.host} pid ${context.owner.pid} after: ${existing.error}` : null;
    const updated = await entries.findOneAndUpdate({ _id: name }, { $set: { state, checksum: checksum ?? existing.checksum, finishedAt: new Date(), error } }, { returnDocument: 'after' });
    return updated ? toEntry(updated) : undefined;
  }

  async verify(spec: VerifySpec): Promise<string[]> {
    const db = await this.db();
    const problems: string[] = [];
    const collections = new Map((await db.listCollections().toArray()).map((c) => [c.name, c as { name: string; options?: { validator?: { $jsonSchema?: unknown } } }]));
    for (const name of spec.collections ?? []) if (!collections.has(name)) problems.push(`collection ${name} does not exist`);
    for (const [name, indexes] of Object.entries(spec.indexes ?? {})) {
      const have = collections.has(name) ? new Set((await db.collection(name).indexes()).map((i) => i.name)) : new Set<string>();
      for (const index of indexes) if (!have.has(index)) problems.push(`index ${index} on ${name} does not exist`);
    }
    for (const [name, schema] of Object.entries(spec.validators ?? {})) {
      const actual = collections.get(name)?.options?.validator?.$jsonSchema;
      if (!actual) problems.push(`collection ${name} has no $jsonSchema validator`);
      else if (canonical(actual) !== canonical(schema)) problems.push(`collection ${name}'s $jsonSchema validator differs from the one declared`);
      const violating = collections.has(name) ? await db.collection(name).countDocuments({ $nor: [{ $jsonSchema: schema }] }) : 0;
      if (violating > 0) problems.push(`${violating} document(s) in ${name} violate its $jsonSchema`);
    }
    if (spec.tables || spec.columns) problems.push('tables and columns are PostgreSQL checks; this database is MongoDB');
    return problems;
  }

  async close(): Promise<void> {
    await this.client?.close().catch(() => undefined);
    this.client = undefined;
  }
}
