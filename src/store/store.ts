import type { Db } from './db.js';
import {
  releaseId,
  releaseNumber,
  type DeploymentKind,
  type DeploymentRecord,
  type DeploymentState,
  type ReleaseRecord,
  type ReleaseState,
  type StepRecord,
  type StepState,
} from './records.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- SQLite rows, read through the intent-named queries that type them
type Row = Record<string, any>;

function toRelease(row: Row): ReleaseRecord {
  return { id: releaseId(row.id), env: row.env, commit: row.commit_sha, ref: row.ref, branch: row.branch ?? null, subject: row.subject ?? null, author: row.author ?? null, dir: row.dir, state: row.state, createdAt: row.created_at };
}

function toDeployment(row: Row): DeploymentRecord {
  return {
    id: row.id,
    env: row.env,
    kind: row.kind,
    releaseId: row.release_id == null ? null : releaseId(row.release_id),
    ...(row.release_commit ? { release: { commit: row.release_commit, branch: row.release_branch ?? null, subject: row.release_subject ?? null } } : {}),
    previousReleaseId: row.previous_release_id == null ? null : releaseId(row.previous_release_id),
    ...(row.promoted_from ? { promotedFrom: JSON.parse(row.promoted_from) as { env: string; release: string } } : {}),
    state: row.state,
    outcome: row.state === 'running' ? null : row.state,
    currentStep: row.current_step,
    error: row.error,
    exitCode: row.exit_code,
    agentPid: row.agent_pid,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

function toStep(row: Row): StepRecord {
  return {
    name: row.name,
    phase: row.phase,
    state: row.state,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    durationMs: row.finished_at == null ? null : row.finished_at - row.started_at,
    detail: row.detail,
  };
}

const DEPLOYMENTS_WITH_RELEASES = `SELECT d.*, r.commit_sha AS release_commit, r.branch AS release_branch, r.subject AS release_subject FROM deployments d LEFT JOIN releases r ON r.id = d.release_id`;

/** Intent-named queries over the SQLite store. The clock is passed in so tests can steer it. */
export class Store {
  constructor(readonly db: Db, private readonly now: () => number = Date.now) {}

  createRelease(input: { env: string; commit: string; ref: string; branch?: string | null; subject?: string; author?: string; dir: (id: string) => string; configJson: string }): ReleaseRecord {
    const insert = this.db.transaction(() => {
      const info = this.db
        .prepare(`INSERT INTO releases (env, commit_sha, ref, branch, subject, author, dir, config_json, state, created_at) VALUES (?, ?, ?, ?, ?, ?, '', ?, 'building', ?)`)
        .run(input.env, input.commit, input.ref, input.branch ?? null, input.subject ?? null, input.author ?? null, input.configJson, this.now());
      const id = releaseId(info.lastInsertRowid);
      this.db.prepare(`UPDATE releases SET dir = ? WHERE id = ?`).run(input.dir(id), info.lastInsertRowid);
      return id;
    });
    return this.release(insert())!;
  }

  /** A release known again from its directory after the database lost it (see agent/recover.ts). */
  restoreRelease(input: { id: string; env: string; commit: string; ref: string; dir: string; configJson: string; state: ReleaseState; createdAt: number }): void {
    this.db
      .prepare(`INSERT INTO releases (id, env, commit_sha, ref, dir, config_json, state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(releaseNumber(input.id), input.env, input.commit, input.ref, input.dir, input.configJson, input.state, input.createdAt);
  }

  /** Makes the next release and deployment ids larger than these (ids in use outside the database). */
  raiseIdFloors(floors: { release: number; deployment: number }): void {
    const raise = this.db.transaction(() => {
      for (const [table, floor] of [['releases', floors.release], ['deployments', floors.deployment]] as const) {
        const row = this.db.prepare(`SELECT seq FROM sqlite_sequence WHERE name = ?`).get(table) as Row | undefined;
        if (!row) this.db.prepare(`INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)`).run(table, floor);
        else if (row.seq < floor) this.db.prepare(`UPDATE sqlite_sequence SET seq = ? WHERE name = ?`).run(floor, table);
      }
    });
    raise();
  }

  nextDeploymentId(): number {
    const row = this.db.prepare(`SELECT seq FROM sqlite_sequence WHERE name = 'deployments'`).get() as Row | undefined;
    return (row?.seq ?? 0) + 1;
  }

  release(id: string): ReleaseRecord | undefined {
    const row = this.db.prepare(`SELECT * FROM releases WHERE id = ?`).get(releaseNumber(id)) as Row | undefined;
    return row ? toRelease(row) : undefined;
  }

  releaseConfigJson(id: string): string | undefined {
    const row = this.db.prepare(`SELECT config_json FROM releases WHERE id = ?`).get(releaseNumber(id)) as Row | undefined;
    return row?.config_json;
  }

  setReleaseState(id: string, state: ReleaseState): void {
    this.db.prepare(`UPDATE releases SET state = ? WHERE id = ?`).run(state, releaseNumber(id));
  }

  /** Releases of one environment, newest first. */
  releasesOf(env: string): ReleaseRecord[] {
    return (this.db.prepare(`SELECT * FROM releases WHERE env = ? ORDER BY id DESC`).all(env) as Row[]).map(toRelease);
  }

  createDeployment(input: { env: string; kind: DeploymentKind; previousReleaseId: string | null }): DeploymentRecord {
    const info = this.db
      .prepare(`INSERT INTO deployments (env, kind, previous_release_id, state, agent_pid, started_at) VALUES (?, ?, ?, 'running', ?, ?)`)
      .run(input.env, input.kind, input.previousReleaseId == null ? null : releaseNumber(input.previousReleaseId), process.pid, this.now());
    return this.deployment(Number(info.lastInsertRowid))!;
  }

  /** The deployment is a promotion of what `from.env` served (`from.release`). */
  setDeploymentPromotedFrom(deploymentId: number, from: { env: string; release: string }): void {
    this.db.prepare(`UPDATE deployments SET promoted_from = ? WHERE id = ?`).run(JSON.stringify(from), deploymentId);
  }

  setDeploymentRelease(deploymentId: number, release: string): void {
    this.db.prepare(`UPDATE deployments SET release_id = ? WHERE id = ?`).run(releaseNumber(release), deploymentId);
  }

  finishDeployment(deploymentId: number, state: Exclude<DeploymentState, 'running'>, exitCode: number, error: string | null): void {
    this.db
      .prepare(`UPDATE deployments SET state = ?, exit_code = ?, error = ?, finished_at = ? WHERE id = ?`)
      .run(state, exitCode, error, this.now(), deploymentId);
  }

  deployment(id: number): DeploymentRecord | undefined {
    const row = this.db.prepare(`SELECT * FROM deployments WHERE id = ?`).get(id) as Row | undefined;
    return row ? this.withDetail(toDeployment(row)) : undefined;
  }

  deployments(options: { env?: string; limit?: number } = {}): DeploymentRecord[] {
    const rows = (
      options.env
        ? this.db.prepare(`${DEPLOYMENTS_WITH_RELEASES} WHERE d.env = ? ORDER BY d.id DESC LIMIT ?`).all(options.env, options.limit ?? 50)
        : this.db.prepare(`${DEPLOYMENTS_WITH_RELEASES} ORDER BY d.id DESC LIMIT ?`).all(options.limit ?? 50)
    ) as Row[];
    return rows.map((row) => this.withDetail(toDeployment(row)));
  }

  /** A deployment with its steps, and its failure when one was recorded. */
  private withDetail(deployment: DeploymentRecord): DeploymentRecord {
    const failure = this.db.prepare(`SELECT data_json FROM events WHERE deployment_id = ? AND type = 'failure' ORDER BY id DESC LIMIT 1`).get(deployment.id) as Row | undefined;
    const warnings = (this.db.prepare(`SELECT data_json FROM events WHERE deployment_id = ? AND type = 'warning' ORDER BY id`).all(deployment.id) as Row[]).map((row) => (JSON.parse(row.data_json) as { message: string }).message);
    return { ...deployment, steps: this.stepsOf(deployment.id), ...(failure ? { failure: JSON.parse(failure.data_json) } : {}), ...(warnings.length ? { warnings } : {}) };
  }

  runningDeployments(): DeploymentRecord[] {
    return (this.db.prepare(`SELECT * FROM deployments WHERE state = 'running' ORDER BY id`).all() as Row[]).map(toDeployment);
  }

  /** When a release began to serve: the switch (or, without one, the end) of the newest succeeded deployment that brought it. */
  servingSince(env: string, release: string): number | null {
    const row = this.db
      .prepare(
        `SELECT COALESCE(s.finished_at, d.finished_at) AS at FROM deployments d LEFT JOIN steps s ON s.deployment_id = d.id AND s.name = 'switch' AND s.phase = 'run'
         WHERE d.env = ? AND d.release_id = ? AND d.state = 'succeeded' ORDER BY d.id DESC LIMIT 1`,
      )
      .get(env, releaseNumber(release)) as Row | undefined;
    return row?.at ?? null;
  }

  /** The newest release that an environment ran successfully (a succeeded deploy or rollback). */
  lastGoodReleases(env: string): string[] {
    const rows = this.db
      .prepare(`SELECT DISTINCT release_id FROM deployments WHERE env = ? AND state = 'succeeded' AND release_id IS NOT NULL ORDER BY id DESC`)
      .all(env) as Row[];
    return rows.map((row) => releaseId(row.release_id));
  }

  /** Persists a step as running before it runs; returns the row id to finish it with. */
  startStep(deploymentId: number, name: string, phase: 'run' | 'undo' = 'run'): number {
    const run = this.db.transaction(() => {
      this.db.prepare(`UPDATE deployments SET current_step = ? WHERE id = ?`).run(phase === 'run' ? name : `undo ${name}`, deploymentId);
      return Number(
        this.db.prepare(`INSERT INTO steps (deployment_id, name, phase, state, started_at) VALUES (?, ?, ?, 'running', ?)`).run(deploymentId, name, phase, this.now())
          .lastInsertRowid,
      );
    });
    return run();
  }

  finishStep(stepId: number, state: StepState, detail?: string): void {
    this.db.prepare(`UPDATE steps SET state = ?, finished_at = ?, detail = ? WHERE id = ?`).run(state, this.now(), detail ?? null, stepId);
  }

  /** Marks the steps an interrupted deployment left running as failed. */
  interruptSteps(deploymentId: number, detail: string): void {
    this.db.prepare(`UPDATE steps SET state = 'failed', finished_at = ?, detail = ? WHERE deployment_id = ? AND state = 'running'`).run(this.now(), detail, deploymentId);
  }

  stepsOf(deploymentId: number): StepRecord[] {
    return (this.db.prepare(`SELECT * FROM steps WHERE deployment_id = ? ORDER BY id`).all(deploymentId) as Row[]).map(toStep);
  }

  recordEvent(env: string, deploymentId: number | null, type: string, data: Record<string, unknown> = {}): void {
    this.db.prepare(`INSERT INTO events (at, env, deployment_id, type, data_json) VALUES (?, ?, ?, ?, ?)`).run(this.now(), env, deploymentId, type, JSON.stringify(data));
  }

  /** Takes the environment's lock if it is free or its holder is stale; returns the current holder otherwise. */
  tryLock(env: string, deploymentId: number, staleAfterMs: number, isOwnerAlive: (pid: number) => boolean): { acquired: true } | { acquired: false; holder: Row } {
    const attempt = this.db.transaction(() => {
      const holder = this.db.prepare(`SELECT * FROM locks WHERE env = ?`).get(env) as Row | undefined;
      const now = this.now();
      if (holder && now - holder.heartbeat_at < staleAfterMs && isOwnerAlive(holder.owner_pid)) return { acquired: false as const, holder };
      this.db.prepare(`INSERT OR REPLACE INTO locks (env, deployment_id, owner_pid, acquired_at, heartbeat_at) VALUES (?, ?, ?, ?, ?)`).run(env, deploymentId, process.pid, now, now);
      return { acquired: true as const };
    });
    return attempt.immediate();
  }

  /**
   * Takes the state folder's agent lock, in one write transaction: free, or held by a process that is gone
   * (`isHolderAlive` is given its pid and start time), it becomes this process's; otherwise the holder's pid.
   */
  tryAgentLock(processStart: string | undefined, isHolderAlive: (pid: number, processStart: string | null) => boolean): { acquired: true } | { acquired: false; pid: number } {
    const attempt = this.db.transaction(() => {
      const holder = this.db.prepare(`SELECT pid, process_start FROM agent_lock WHERE id = 1`).get() as { pid: number; process_start: string | null } | undefined;
      if (holder && holder.pid !== process.pid && isHolderAlive(holder.pid, holder.process_start)) return { acquired: false as const, pid: holder.pid };
      this.db.prepare(`INSERT OR REPLACE INTO agent_lock (id, pid, process_start, acquired_at) VALUES (1, ?, ?, ?)`).run(process.pid, processStart ?? null, this.now());
      return { acquired: true as const };
    });
    return attempt.immediate();
  }

  releaseAgentLock(): void {
    this.db.prepare(`DELETE FROM agent_lock WHERE pid = ?`).run(process.pid);
  }

  heartbeatLock(env: string, deploymentId: number): void {
    this.db.prepare(`UPDATE locks SET heartbeat_at = ? WHERE env = ? AND deployment_id = ?`).run(this.now(), env, deploymentId);
  }

  releaseLock(env: string, deploymentId: number): void {
    this.db.prepare(`DELETE FROM locks WHERE env = ? AND deployment_id = ?`).run(env, deploymentId);
  }

  lockOf(env: string): { deploymentId: number; ownerPid: number; acquiredAt: number; heartbeatAt: number } | undefined {
    const row = this.db.prepare(`SELECT * FROM locks WHERE env = ?`).get(env) as Row | undefined;
    return row ? { deploymentId: row.deployment_id, ownerPid: row.owner_pid, acquiredAt: row.acquired_at, heartbeatAt: row.heartbeat_at } : undefined;
  }

  locks(): Array<{ env: string; deploymentId: number; ownerPid: number }> {
    return (this.db.prepare(`SELECT * FROM locks`).all() as Row[]).map((row) => ({ env: row.env, deploymentId: row.deployment_id, ownerPid: row.owner_pid }));
  }
}
