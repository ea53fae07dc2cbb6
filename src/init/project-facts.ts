import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { appNameFor } from '../config/app-name.js';
import { dataFolders } from './data-folders.js';

/** One thing `ferry init` decided, where it read it from, and what to check if it guessed. */
export interface Assumption {
  what: string;
  value: string;
  from: string;
}

export interface Manifest {
  name?: string;
  main?: string;
  bin?: string | Record<string, string>;
  scripts?: Record<string, string>;
  engines?: { node?: string };
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

export interface ProjectFacts {
  app: string;
  manifest: Manifest;
  /** The command that starts one instance, or undefined when the project does not say (init says so). */
  start?: string;
  build?: string;
  nodeVersion: string;
  packageManager: 'npm' | 'pnpm' | 'yarn';
  framework?: string;
  /** Whether the project has dependencies to install before it can start. */
  hasDependencies: boolean;
  /** The services its dependencies call for (a MongoDB, Redis, PostgreSQL or Kafka client): CI's service containers, ferry dev's. */
  services: ServiceName[];
  /** Folders the app keeps data in (init proposes them as `shared:`, so a deploy does not lose them). */
  shared: string[];
  assumptions: Assumption[];
}

/** Dev tools that a `start` script may run (nest start, ts-node, nodemon): fine on a laptop, not in production. */
const DEV_TOOLS = /^(nest|ts-node|ts-node-dev|tsx|nodemon|next dev|vite|webpack|babel-node)\b/;
/** Shell syntax that `exec <command>` cannot run as one program. */
const SHELL_SYNTAX = /[;&|<>`$()]|^\s*\w+=/;

export type ServiceName = 'mongo' | 'redis' | 'postgres' | 'kafka';

/** Clients in package.json, and the service each needs. */
const SERVICE_CLIENTS: Array<[ServiceName, string[]]> = [
  ['mongo', ['mongodb', 'mongoose']],
  ['redis', ['redis', 'ioredis']],
  ['postgres', ['pg', 'postgres', 'pg-promise']],
  ['kafka', ['kafkajs', '@confluentinc/kafka-javascript', 'node-rdkafka']],
];

const FRAMEWORKS: Array<[string, string]> = [
  ['@nestjs/core', 'NestJS'],
  ['next', 'Next.js'],
  ['fastify', 'Fastify'],
  ['express', 'Express'],
  ['koa', 'Koa'],
  ['@hapi/hapi', 'hapi'],
];

function startOf(dir: string, manifest: Manifest, run: string): { command?: string; from: string } {
  const scripts = manifest.scripts ?? {};
  const usable = (command: string | undefined) => command !== undefined && !SHELL_SYNTAX.test(command) && !DEV_TOOLS.test(command.trim());
  // `npm start` runs prestart and poststart around start: started by itself, start would miss what prestart makes.
  const hooks = ['prestart', 'poststart'].filter((name) => scripts[name] !== undefined);
  if (scripts.start && !DEV_TOOLS.test(scripts.start.trim()) && hooks.length) return { command: `${run} start`, from: `package.json scripts.start, through the package manager (it runs ${hooks.join(' and ')} around it)` };
  if (usable(scripts.start)) return { command: scripts.start, from: 'package.json scripts.start' };
  for (const name of ['start:prod', 'start:production', 'serve']) {
    if (usable(scripts[name])) return { command: scripts[name], from: `package.json scripts.${name}${scripts.start ? ' (scripts.start runs a dev tool or shell syntax)' : ''}` };
  }
  if (scripts.start) return { command: `${run} start`, from: 'package.json scripts.start, through the package manager (it is not a single command)' };
  if (manifest.main && existsSync(join(dir, manifest.main))) return { command: `node ${manifest.main}`, from: 'package.json main' };
  const bin = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin ? Object.values(manifest.bin)[0] : undefined;
  if (bin) return { command: `node ${bin}`, from: 'package.json bin' };
  const file = ['server.js', 'index.js', 'app.js', 'main.js', 'src/index.js', 'src/server.js'].find((name) => existsSync(join(dir, name)));
  if (file) return { command: `node ${file}`, from: `${file} exists (no start script, main or bin)` };
  return { from: 'nothing: no start script, main, bin or server.js/index.js' };
}

/** What the project says about itself in package.json and its lockfile: how it installs, builds and starts. */
export function readProjectFacts(dir: string): ProjectFacts {
  const file = join(dir, 'package.json');
  const manifest = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Manifest) : {};
  const packageManager = existsSync(join(dir, 'pnpm-lock.yaml')) ? 'pnpm' : existsSync(join(dir, 'yarn.lock')) ? 'yarn' : 'npm';
  const run = packageManager === 'npm' ? 'npm run' : packageManager;
  const assumptions: Assumption[] = [];
  const start = startOf(dir, manifest, packageManager === 'npm' ? 'npm' : packageManager);
  assumptions.push({ what: 'start', value: start.command ?? '(none)', from: start.from });
  const build = manifest.scripts?.build ? `${run} build` : undefined;
  if (build) assumptions.push({ what: 'build', value: build, from: 'package.json scripts.build' });
  const major = /(\d{2})/.exec(manifest.engines?.node ?? '')?.[1];
  const nodeVersion = major ?? String(process.versions.node.split('.')[0]);
  assumptions.push({ what: 'node', value: nodeVersion, from: major ? 'package.json engines.node' : 'the Node running ferry (no engines.node)' });
  const all = { ...manifest.dependencies, ...manifest.devDependencies };
  const framework = FRAMEWORKS.find(([name]) => all[name])?.[1];
  if (framework) assumptions.push({ what: 'framework', value: framework, from: 'package.json dependencies' });
  const shared = dataFolders(dir);
  for (const folder of shared) assumptions.push({ what: 'shared', value: folder.path, from: `${folder.from}: the app's data, kept outside the releases so deploys and rollbacks keep it; drop it from shared: if it is not` });
  return {
    app: appNameFor(manifest.name),
    manifest,
    start: start.command,
    build,
    nodeVersion,
    packageManager,
    framework,
    hasDependencies: Object.keys(manifest.dependencies ?? {}).length > 0 || (Boolean(build) && Object.keys(manifest.devDependencies ?? {}).length > 0),
    services: SERVICE_CLIENTS.filter(([, clients]) => clients.some((client) => all[client])).map(([service]) => service),
    shared: shared.map((folder) => folder.path),
    assumptions,
  };
}
