import { dirname } from 'node:path';
import { privateDir, privateFiles } from '../shared/file-modes.js';
import { openSqlite, type Sqlite } from './sqlite.js';

/** The store's own schema migrations, applied in order; PRAGMA user_version records how many ran. */
const MIGRATIONS: string[] = [
  `CREATE TABLE releases (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     env TEXT NOT NULL,
     commit_sha TEXT NOT NULL,
     ref TEXT NOT NULL,
     dir TEXT NOT NULL,
     config_json TEXT NOT NULL,
     state TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE deployments (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     env TEXT NOT NULL,
     kind TEXT NOT NULL,
     release_id INTEGER,
     previous_release_id INTEGER,
     state TEXT NOT NULL,
     current_step TEXT,
     error TEXT,
     exit_code INTEGER,
     agent_pid INTEGER NOT NULL,
     started_at INTEGER NOT NULL,
     finished_at INTEGER
   );
   CREATE INDEX deployments_env ON deployments(env, id);
   CREATE TABLE steps (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     deployment_id INTEGER NOT NULL REFERENCES deployments(id),
     name TEXT NOT NULL,
     state TEXT NOT NULL,
     started_at INTEGER NOT NULL,
     finished_at INTEGER,
     detail TEXT
   );
   CREATE INDEX steps_deployment ON steps(deployment_id, id);
   CREATE TABLE events (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     at INTEGER NOT NULL,
     env TEXT NOT NULL,
     deployment_id INTEGER,
     type TEXT NOT NULL,
     data_json TEXT NOT NULL
   );
   CREATE TABLE locks (
     env TEXT PRIMARY KEY,
     deployment_id INTEGER NOT NULL,
     owner_pid INTEGER NOT NULL,
     acquired_at INTEGER NOT NULL,
     heartbeat_at INTEGER NOT NULL
   );`,
  `CREATE TABLE pipeline_runs (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     commit_sha TEXT,
     branch TEXT,
     outcome TEXT NOT NULL,
     started_at INTEGER NOT NULL,
     finished_at INTEGER,
     wall_ms INTEGER
   );
   CREATE TABLE pipeline_stages (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     run_id INTEGER NOT NULL REFERENCES pipeline_runs(id),
     name TEXT NOT NULL,
     state TEXT NOT NULL,
     cached INTEGER NOT NULL DEFAULT 0,
     input_key TEXT NOT NULL,
     duration_ms INTEGER,
     log_file TEXT,
     detail TEXT
   );
   CREATE INDEX pipeline_stages_cache ON pipeline_stages(name, input_key, state);`,
  // A step's undo (compensation) is a row of its own, after the failure that caused it.
  `ALTER TABLE steps ADD COLUMN phase TEXT NOT NULL DEFAULT 'run';`,
  // What a person recognises a release by: its branch and its commit's subject.
  `ALTER TABLE releases ADD COLUMN branch TEXT;
   ALTER TABLE releases ADD COLUMN subject TEXT;`,
  // Incidents name the deployment they blame: DORA's change failure rate links them explicitly, never by time.
  `CREATE TABLE incidents (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     env TEXT NOT NULL,
     deployment_id INTEGER NOT NULL REFERENCES deployments(id),
     title TEXT NOT NULL,
     source TEXT NOT NULL,
     external_key TEXT,
     opened_at INTEGER NOT NULL,
     closed_at INTEGER
   );
   CREATE INDEX incidents_env ON incidents(env, id);`,
  // The agent's periodic health probes through the router: the uptime of each environment.
  `CREATE TABLE uptime_probes (
     env TEXT NOT NULL,
     at INTEGER NOT NULL,
     ok INTEGER NOT NULL
   );
   CREATE INDEX uptime_probes_env ON uptime_probes(env, at);`,
  // Each tool's report of each `ferry scan` (a tool that could not scan is a row too, with why): the dashboard's security view.
  `CREATE TABLE scan_reports (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     at INTEGER NOT NULL,
     commit_sha TEXT,
     tool TEXT NOT NULL,
     scanned INTEGER NOT NULL,
     reason TEXT,
     version TEXT,
     rules_json TEXT NOT NULL,
     findings_json TEXT NOT NULL
   );`,
  // Who wrote a release's commit: the dashboard shows it beside the commit.
  `ALTER TABLE releases ADD COLUMN author TEXT;`,
  // The agent's samples of the router's counters (per environment, release and interval): each release's traffic over time.
  `CREATE TABLE traffic_samples (
     env TEXT NOT NULL,
     release TEXT NOT NULL,
     at INTEGER NOT NULL,
     seconds REAL NOT NULL,
     requests INTEGER NOT NULL,
     errors INTEGER NOT NULL,
     buckets_json TEXT NOT NULL,
     overflow INTEGER NOT NULL
   );
   CREATE INDEX traffic_samples_env ON traffic_samples(env, at);`,
  // A promotion is a deploy of what another environment serves: history and the dashboard say so, and from where.
  `ALTER TABLE deployments ADD COLUMN promoted_from TEXT;`,
  // One agent per state folder: the one that holds this row (a live process of that pid and start time).
  `CREATE TABLE agent_lock (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     pid INTEGER NOT NULL,
     process_start TEXT,
     acquired_at INTEGER NOT NULL
   );`,
];

export type Db = Sqlite;

export function openDb(path: string): Db {
  privateDir(dirname(path));
  const db = openSqlite(path);
  // The wait first: agents started at once (several ferry commands with none running) open one database together.
  db.pragma('busy_timeout = 5000');
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  // The version is read inside the write transaction: another process may have migrated since this one looked.
  db.transaction(() => {
    const applied = db.pragma('user_version', { simple: true }) as number;
    for (let index = applied; index < MIGRATIONS.length; index++) {
      db.exec(MIGRATIONS[index]);
      db.pragma(`user_version = ${index + 1}`);
    }
  }).immediate();
  privateFiles(path, `${path}-wal`, `${path}-shm`);
  return db;
}
