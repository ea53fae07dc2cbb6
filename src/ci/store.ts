import type { Db } from '../store/db.js';

/** `unchecked`: the stage ran and failed nothing, but checked nothing either (its command exited 13: a scan that could not scan). Never cached. */
export type StageState = 'succeeded' | 'failed' | 'cancelled' | 'skipped' | 'cached' | 'unchecked';

export interface StageRecord {
  name: string;
  state: StageState;
  cached: boolean;
  inputKey: string;
  durationMs: number | null;
  logFile: string | null;
  detail: string | null;
}

/** Pipeline runs and their stages, in the project's ferry.db; the cache is "a green stage with the same input key". */
export class PipelineStore {
  constructor(private readonly db: Db, private readonly now: () => number = Date.now) {}

  startRun(commit: string | null, branch: string | null): number {
    return Number(this.db.prepare("INSERT INTO pipeline_runs (commit_sha, branch, outcome, started_at) VALUES (?, ?, 'running', ?)").run(commit, branch, this.now()).lastInsertRowid);
  }

  finishRun(id: number, outcome: 'succeeded' | 'failed' | 'unchecked', wallMs: number): void {
    this.db.prepare('UPDATE pipeline_runs SET outcome = ?, finished_at = ?, wall_ms = ? WHERE id = ?').run(outcome, this.now(), wallMs, id);
  }

  recordStage(runId: number, stage: StageRecord): void {
    this.db
      .prepare('INSERT INTO pipeline_stages (run_id, name, state, cached, input_key, duration_ms, log_file, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(runId, stage.name, stage.state, stage.cached ? 1 : 0, stage.inputKey, stage.durationMs, stage.logFile, stage.detail);
  }

  /** The last green run of this stage with exactly these inputs, if any. */
  greenRun(name: string, inputKey: string): { runId: number; durationMs: number | null } | undefined {
    const row = this.db
      .prepare("SELECT run_id AS runId, duration_ms AS durationMs FROM pipeline_stages WHERE name = ? AND input_key = ? AND state = 'succeeded' ORDER BY id DESC LIMIT 1")
      .get(name, inputKey) as { runId: number; durationMs: number | null } | undefined;
    return row;
  }

  /** Each stage's duration in its last run that did the work (succeeded, not cached): what the scheduler expects. */
  lastDurations(): Map<string, number> {
    const rows = this.db
      .prepare("SELECT name, duration_ms AS durationMs FROM pipeline_stages WHERE id IN (SELECT MAX(id) FROM pipeline_stages WHERE state = 'succeeded' AND cached = 0 GROUP BY name)")
      .all() as Array<{ name: string; durationMs: number }>;
    return new Map(rows.map((r) => [r.name, r.durationMs]));
  }

  runs(limit: number): Array<{ id: number; commit: string | null; branch: string | null; outcome: string; wallMs: number | null; startedAt: number; stages: StageRecord[] }> {
    const runs = this.db.prepare('SELECT id, commit_sha AS "commit", branch, outcome, wall_ms AS wallMs, started_at AS startedAt FROM pipeline_runs ORDER BY id DESC LIMIT ?').all(limit) as Array<{ id: number; commit: string | null; branch: string | null; outcome: string; wallMs: number | null; startedAt: number }>;
    const stages = this.db.prepare('SELECT name, state, cached, input_key AS inputKey, duration_ms AS durationMs, log_file AS logFile, detail FROM pipeline_stages WHERE run_id = ? ORDER BY id');
    return runs.map((r) => ({ ...r, stages: (stages.all(r.id) as Array<Omit<StageRecord, 'cached'> & { cached: number }>).map((s) => ({ ...s, cached: Boolean(s.cached) })) }));
  }
}
