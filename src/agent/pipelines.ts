import { existsSync, readFileSync } from 'node:fs';
import { PipelineStore } from '../ci/store.js';
import { ScanStore } from '../scan/store.js';
import type { Db } from '../store/db.js';
import { FerryError } from '../util/errors.js';
import { sendJson } from '../util/json-http.js';
import { route, type Route } from './routes.js';

/** Lines of a stage's log the API returns: its end, where a failure says why. */
const LOG_TAIL_LINES = 200;

/**
 * `/api/pipelines` (the runs of `ferry ci`, with their stages), `/api/pipelines/:id/stages/:name/log` (a
 * stage's last lines; the admin token only, as every log) and `/api/security` (each scan tool's latest report;
 * a tool that did not scan says why).
 */
export function pipelineRoutes(db: Db, count: (url: URL, name: string, fallback: number) => number): Route[] {
  return [
    route({
      method: 'GET',
      path: '/api/pipelines',
      auth: 'read',
      handle({ res, url }) {
        sendJson(res, 200, { runs: new PipelineStore(db).runs(count(url, 'limit', 20)).map(({ stages, ...run }) => ({ ...run, stages: stages.map(({ logFile, ...stage }) => ({ ...stage, hasLog: logFile !== null && existsSync(logFile) })) })) });
      },
    }),
    route({
      method: 'GET',
      path: /^\/api\/pipelines\/(?<run>\d+)\/stages\/(?<stage>[a-z0-9-]+)\/log$/,
      auth: 'logs',
      handle({ res, params }) {
        const row = db.prepare('SELECT log_file AS logFile FROM pipeline_stages WHERE run_id = ? AND name = ? ORDER BY id DESC LIMIT 1').get(Number(params.run), params.stage) as { logFile: string | null } | undefined;
        if (!row?.logFile || !existsSync(row.logFile)) throw new FerryError({ code: 'NOT_FOUND', message: `no log of stage ${params.stage} in pipeline run #${params.run}` });
        const lines = readFileSync(row.logFile, 'utf8').split('\n');
        sendJson(res, 200, { run: Number(params.run), stage: params.stage, lines: lines.slice(-LOG_TAIL_LINES), omitted: Math.max(0, lines.length - LOG_TAIL_LINES) });
      },
    }),
    route({ method: 'GET', path: '/api/security', auth: 'read', handle: ({ res }) => sendJson(res, 200, { tools: new ScanStore(db).latest() }) }),
  ];
}
