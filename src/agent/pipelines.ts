import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PipelineStore } from '../ci/store.js';
import { ScanStore } from '../scan/store.js';
import type { Db } from '../store/db.js';
import { FerryError } from '../util/errors.js';
import { sendJson } from '../util/json-http.js';

/** Lines of a stage's log the API returns: its end, where a failure says why. */
const LOG_TAIL_LINES = 200;

/**
 * `/api/pipelines` (the runs of `ferry ci`, with their stages), `/api/pipelines/:id/stages/:name/log` (a
 * stage's last lines) and `/api/security` (each scan tool's latest report; a tool that did not scan says
 * why). False when the request is none of them.
 */
export function handlePipelines(db: Db, req: IncomingMessage, res: ServerResponse, url: URL, count: (name: string, fallback: number) => number): boolean {
  if (req.method !== 'GET') return false;
  if (url.pathname === '/api/pipelines') {
    sendJson(res, 200, { runs: new PipelineStore(db).runs(count('limit', 20)).map(({ stages, ...run }) => ({ ...run, stages: stages.map(({ logFile, ...stage }) => ({ ...stage, hasLog: logFile !== null && existsSync(logFile) })) })) });
    return true;
  }
  const log = /^\/api\/pipelines\/(\d+)\/stages\/([a-z0-9-]+)\/log$/.exec(url.pathname);
  if (log) {
    const row = db.prepare('SELECT log_file AS logFile FROM pipeline_stages WHERE run_id = ? AND name = ? ORDER BY id DESC LIMIT 1').get(Number(log[1]), log[2]) as { logFile: string | null } | undefined;
    if (!row?.logFile || !existsSync(row.logFile)) throw new FerryError({ code: 'NOT_FOUND', message: `no log of stage ${log[2]} in pipeline run #${log[1]}` });
    const lines = readFileSync(row.logFile, 'utf8').split('\n');
    sendJson(res, 200, { run: Number(log[1]), stage: log[2], lines: lines.slice(-LOG_TAIL_LINES), omitted: Math.max(0, lines.length - LOG_TAIL_LINES) });
    return true;
  }
  if (url.pathname === '/api/security') {
    sendJson(res, 200, { tools: new ScanStore(db).latest() });
    return true;
  }
  return false;
}
