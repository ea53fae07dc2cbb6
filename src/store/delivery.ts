import type { Db } from './db.js';
import { releaseId } from './records.js';

/** An incident: something went wrong in an environment, blamed on one deployment. */
export interface IncidentRecord {
  id: number;
  env: string;
  deploymentId: number;
  title: string;
  /** `cli` (ferry incident open) or `alertmanager` (the webhook). */
  source: string;
  /** Alertmanager's fingerprint: a repeated notification of the same alert opens nothing new. */
  externalKey: string | null;
  openedAt: number;
  closedAt: number | null;
}

/** A deployment as the delivery metrics read it: when its release took traffic, and the commit it shipped. */
export interface DeploymentFact {
  id: number;
  kind: 'deploy' | 'rollback';
  outcome: 'succeeded' | 'rolled_back' | 'halted' | 'failed' | null;
  releaseId: string | null;
  previousReleaseId: string | null;
  commit: string | null;
  startedAt: number;
  finishedAt: number | null;
  switchedAt: number | null;
}

type Row = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- SQLite rows

const toIncident = (row: Row): IncidentRecord => ({
  id: row.id,
  env: row.env,
  deploymentId: row.deployment_id,
  title: row.title,
  source: row.source,
  externalKey: row.external_key ?? null,
  openedAt: row.opened_at,
  closedAt: row.closed_at ?? null,
});

/** Queries behind `ferry metrics` and `ferry incident`. */
export class DeliveryStore {
  constructor(private readonly db: Db, private readonly now: () => number = Date.now) {}

  /** Every deployment of an environment, oldest first, with the time its switch step finished. */
  deploymentFacts(env: string): DeploymentFact[] {
    const rows = this.db
      .prepare(
        `SELECT d.*, r.commit_sha AS commit_sha,
           (SELECT s.finished_at FROM steps s WHERE s.deployment_id = d.id AND s.name = 'switch' AND s.phase = 'run' AND s.state = 'succeeded' ORDER BY s.id LIMIT 1) AS switched_at
         FROM deployments d LEFT JOIN releases r ON r.id = d.release_id WHERE d.env = ? ORDER BY d.id`,
      )
      .all(env) as Row[];
    return rows.map((row) => ({
      id: row.id,
      kind: row.kind,
      outcome: row.state === 'running' ? null : row.state,
      releaseId: row.release_id == null ? null : releaseId(row.release_id),
      previousReleaseId: row.previous_release_id == null ? null : releaseId(row.previous_release_id),
      commit: row.commit_sha ?? null,
      startedAt: row.started_at,
      finishedAt: row.finished_at ?? null,
      switchedAt: row.switched_at ?? null,
    }));
  }

  incidents(options: { env?: string; open?: boolean } = {}): IncidentRecord[] {
    const where = [...(options.env ? ['env = @env'] : []), ...(options.open ? ['closed_at IS NULL'] : [])];
    const sql = `SELECT * FROM incidents${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC`;
    const statement = this.db.prepare(sql);
    return ((options.env ? statement.all({ env: options.env }) : statement.all()) as Row[]).map(toIncident);
  }

  incident(id: number): IncidentRecord | undefined {
    const row = this.db.prepare(`SELECT * FROM incidents WHERE id = ?`).get(id) as Row | undefined;
    return row ? toIncident(row) : undefined;
  }

  /** Opens an incident; with an external key already open, returns that one instead (a repeated alert). */
  openIncident(input: { env: string; deploymentId: number; title: string; source: string; externalKey?: string }): { incident: IncidentRecord; created: boolean } {
    if (input.externalKey) {
      const open = this.db.prepare(`SELECT * FROM incidents WHERE external_key = ? AND closed_at IS NULL`).get(input.externalKey) as Row | undefined;
      if (open) return { incident: toIncident(open), created: false };
    }
    const info = this.db
      .prepare(`INSERT INTO incidents (env, deployment_id, title, source, external_key, opened_at) VALUES (?, ?, ?, ?, ?, ?)`)
      .run(input.env, input.deploymentId, input.title, input.source, input.externalKey ?? null, this.now());
    return { incident: this.incident(Number(info.lastInsertRowid))!, created: true };
  }

  closeIncident(id: number): IncidentRecord | undefined {
    this.db.prepare(`UPDATE incidents SET closed_at = ? WHERE id = ? AND closed_at IS NULL`).run(this.now(), id);
    return this.incident(id);
  }

  recordProbe(env: string, ok: boolean, keepMs = 90 * 24 * 3_600_000): void {
    const now = this.now();
    this.db.prepare(`INSERT INTO uptime_probes (env, at, ok) VALUES (?, ?, ?)`).run(env, now, ok ? 1 : 0);
    this.db.prepare(`DELETE FROM uptime_probes WHERE env = ? AND at < ?`).run(env, now - keepMs);
  }

  /** Probes of an environment in [since, until): how many, how many answered healthy. */
  probes(env: string, since: number, until: number): { total: number; ok: number } {
    const row = this.db.prepare(`SELECT COUNT(*) AS total, IFNULL(SUM(ok), 0) AS ok FROM uptime_probes WHERE env = ? AND at >= ? AND at < ?`).get(env, since, until) as { total: number; ok: number };
    return { total: Number(row.total), ok: Number(row.ok) };
  }

  /** The open incident an external key names (an Alertmanager alert that resolved). */
  openByKey(key: string): IncidentRecord | undefined {
    const row = this.db.prepare(`SELECT * FROM incidents WHERE external_key = ? AND closed_at IS NULL`).get(key) as Row | undefined;
    return row ? toIncident(row) : undefined;
  }
}
