import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { FERRY_ROOT } from '../shared/build-info.js';

const UPLOT = dirname(createRequire(import.meta.url).resolve('uplot'));

/**
 * The page may load only what the agent itself serves: no inline script or style, no other origin, no
 * frame around it. uPlot styles its elements through the DOM, which this allows.
 */
export const CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

// The page, its styles and its script modules, as `npm run build` put them in dist/dashboard (compiled from dashboard/*.ts).
const SCRIPTS = join(FERRY_ROOT, 'dist/dashboard');

const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: join(SCRIPTS, 'index.html'), type: 'text/html; charset=utf-8' },
  '/assets/style.css': { file: join(SCRIPTS, 'style.css'), type: 'text/css; charset=utf-8' },
  '/assets/uplot.js': { file: join(UPLOT, 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  '/assets/uplot.css': { file: join(UPLOT, 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

for (const name of existsSync(SCRIPTS) ? readdirSync(SCRIPTS) : []) {
  if (name.endsWith('.js')) ASSETS[`/assets/${name}`] = { file: join(SCRIPTS, name), type: 'text/javascript; charset=utf-8' };
}

const cache = new Map<string, Buffer>();

/** Serves the dashboard's page or one of its assets; false for any other path. They carry no data and need no token. */
export function serveDashboardAsset(pathname: string, res: ServerResponse): boolean {
  const asset = ASSETS[pathname];
  if (!asset) return false;
  let body = cache.get(pathname);
  if (!body) {
    body = readFileSync(asset.file);
    cache.set(pathname, body);
  }
  res.writeHead(200, {
    'content-type': asset.type,
    'content-length': body.length,
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'cache-control': 'no-cache',
  });
  res.end(body);
  return true;
}
