// Writes dist/: each file of src/ (tests left out) and of the dashboard transpiled on its own by esbuild, in the
// layout tsc would write, with source maps. About a second where tsc took ten: `npm start`, `npm test`'s pretest
// and an install from git or a clone (npm's prepare) wait on this. Types are checked by `npm run typecheck`,
// which the suite runs (src/typecheck.test.ts).
//
// Then the three entries that start a process (the CLI, which is also the agent; the router; its worker) are
// written again as bundles, with the pure-JS libraries they use inside: Node loads one file where it loaded
// hundreds (zod alone is 99, yaml 84): an agent starts with about a third less CPU. The CLI's commands stay
// lazy: each `import()` becomes a chunk in dist/chunks/, two folders down like every other module, and code
// finds ferry's files from FERRY_ROOT, never from its own place. Left outside: native addons and what only
// some environments load (docker, SSH, databases, ACME, tsx), which stay lazy as they are.
import { build } from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
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
const bundle = {
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  outbase: 'src',
  outdir: 'dist',
  external: ['better-sqlite3', 'dockerode', 'ssh2', 'mongodb', 'pg', 'acme-client', 'tsx', 'esbuild'],
  // Less for V8 to read at each start (an agent: about 0.05 CPU-s); names are kept, so a stack still names its
  // functions, and `node --enable-source-maps` maps it to the source (the .map files ship beside the code).
  minifyWhitespace: true,
  minifySyntax: true,
  // Libraries bundled code reaches only by require() (CommonJS inside an ES module) need a require of their own.
  banner: { js: "import { createRequire as __ferryCreateRequire } from 'node:module'; const require = __ferryCreateRequire(import.meta.url);" },
  logLevel: 'warning',
};
// Chunks are named by their content: the last build's would stay beside this one's.
rmSync('dist/chunks', { recursive: true, force: true });
await Promise.all([
  build({ ...bundle, entryPoints: ['src/cli/main.ts'], splitting: true, chunkNames: 'chunks/[name]-[hash]' }),
  // Each router process on its own: a file of the router's own code (routerBuild() hashes dist/router).
  build({ ...bundle, entryPoints: ['src/router/main.ts', 'src/router/worker-main.ts'] }),
]);
console.log(`dist/ written in ${Date.now() - started}ms (types: npm run typecheck)`);
