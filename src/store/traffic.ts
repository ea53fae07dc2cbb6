import type { Db } from './db.js';

/** One stored sample of one release of one environment: what it answered in the `seconds` before `at` (ms), counts and latency histogram per bucket. */
export interface TrafficSample {
  env: string;
  release: string;
  at: number;
  seconds: number;
  requests: number;
  errors: number;
  buckets: number[];
  overflow: number;
}

/** The agent's samples of the router's counters, per environment and release: each release's traffic over time. */
export class TrafficStore {
  constructor(private readonly db: Db) {}

  /** Stores one sample's rows and drops those older than keepMs. */
  record(samples: TrafficSample[], keepMs: number): void {
    const insert = this.db.prepare('INSERT INTO traffic_samples (env, release, at, seconds, requests, errors, buckets_json, overflow) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    this.db.transaction(() => {
      for (const s of samples) insert.run(s.env, s.release, s.at, s.seconds, s.requests, s.errors, JSON.stringify(s.buckets), s.overflow);
      const prune = this.db.prepare('DELETE FROM traffic_samples WHERE env = ? AND at < ?');
      for (const env of new Set(samples.map((s) => s.env))) prune.run(env, Math.max(...samples.map((s) => s.at)) - keepMs);
    })();
  }

  /** An environment's samples in [since, until), oldest first. */
  samples(env: string, since: number, until: number): TrafficSample[] {
    const rows = this.db.prepare('SELECT * FROM traffic_samples WHERE env = ? AND at >= ? AND at < ? ORDER BY at').all(env, since, until) as Array<{ env: string; release: string; at: number; seconds: number; requests: number; errors: number; buckets_json: string; overflow: number }>;
    return rows.map((r) => ({ env: r.env, release: r.release, at: Number(r.at), seconds: r.seconds, requests: Number(r.requests), errors: Number(r.errors), buckets: JSON.parse(r.buckets_json) as number[], overflow: Number(r.overflow) }));
  }
}
