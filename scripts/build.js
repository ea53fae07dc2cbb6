// Writes dist/: each file of src/ (tests left out) and of the dashboard transpiled on its own by esbuild, in the
// layout tsc would write, with source maps. About a second where tsc took ten: `npm start`, `npm test`'s pretest
// and an install from git or a clone (npm's prepare) wait on this. Types are checked by `npm run typecheck`,
// which the suite runs (src/typecheck.test.ts).
import { build } from 'esbuild';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const sources = (dir, keep) =>
  readdirSync(dir, { recursive: true })
    .map(String)
    .filter(keep)
    .map((file) => join(dir, file));

const started = Date.now();
await Promise.all([
  build({
    entryPoints: sources('src', (file) => file.endsWith('.ts') && !file.endsWith('.test.ts') && !file.endsWith('.d.ts')),
    outdir: 'dist',
    outbase: 'src',
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    logLevel: 'warning',
  }),
  build({
    entryPoints: sources('dashboard', (file) => file.endsWith('.ts') && !file.includes('/')),
    outdir: 'dist/dashboard',
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    tsconfig: 'dashboard/tsconfig.json',
    logLevel: 'warning',
  }),
]);
console.log(`dist/ written in ${Date.now() - started}ms (types: npm run typecheck)`);
