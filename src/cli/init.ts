import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { FerryConfig } from '../config/schema.js';
import { ciWorkflow, composeDev, deployWorkflow, dockerfile, DOCKERIGNORE, ferryYml, gitignore, rollbackWorkflow, type InitFacts, type RemoteDeploy } from '../init/templates.js';
import { readProjectFacts, type ProjectFacts } from '../init/project-facts.js';
import { findHealthPath, type HealthFinding } from '../init/health-probe.js';
import { describePinned, HOW_TO_PIN, pinnedFerry, proposedFerrySource, type FerrySourceSetting, type PinnedFerry } from '../init/ferry-source.js';
import { monitoringFiles } from '../init/monitoring/files.js';
import type { Io } from './output.js';
import { CONFIG_FILE, loadConfig } from '../config/load.js';
import { workflowSchema } from '../config/schema.js';
import { FerryError } from '../util/errors.js';

/** Where CI's ferry comes from: ferry.yml's workflow.ferry; for a ferry.yml init writes now, this ferry's own git origin at its commit. */
interface CiFerry {
  pinned?: PinnedFerry;
  from: string;
  /** The setting to write into a new ferry.yml. */
  propose?: string;
}

function ciFerryOf(config: FerryConfig | undefined, writesConfig: boolean): CiFerry {
  const configured: FerrySourceSetting | undefined = config?.workflow.ferry;
  if (configured) return { pinned: pinnedFerry(configured), from: 'workflow.ferry in ferry.yml' };
  const proposed = writesConfig ? proposedFerrySource() : undefined;
  if (proposed) return { pinned: pinnedFerry(proposed), from: "this ferry's git checkout: its origin at the commit it runs (written to ferry.yml's workflow.ferry)", propose: proposed };
  return { from: 'nothing: ferry.yml names no workflow.ferry' };
}

/** What the project tells about itself (package.json, its lockfile, a trial start for the health path). */
async function factsOf(projectDir: string, probe: boolean, ciFerry: CiFerry, probePort?: number): Promise<{ facts: InitFacts; project: ProjectFacts; health: HealthFinding; own: boolean }> {
  const project = readProjectFacts(projectDir);
  // In ferry's own repository the workflows run the checkout's ferry; elsewhere they install ferry first, pinned.
  const own = project.manifest.name === 'ferry' && existsSync(join(projectDir, 'bin/ferry.js'));
  const health = await healthOf(projectDir, project, probe, probePort);
  const facts: InitFacts = {
    app: project.app,
    start: project.start,
    build: project.build,
    // Without a trial start: /health, the usual; a Next.js app answers on / and has no health route unless one was written.
    healthPath: health.path ?? (project.framework === 'Next.js' ? '/' : '/health'),
    nodeVersion: project.nodeVersion,
    ferry: own ? 'node bin/ferry.js' : 'ferry',
    ferryInstall: own ? undefined : ciFerry.pinned,
    ferryPin: own ? undefined : ciFerry.propose,
    services: project.services,
    shared: project.shared,
  };
  return { facts, project, health, own };
}

/** The health path a trial start finds, or why there is none. */
async function healthOf(projectDir: string, project: ProjectFacts, probe: boolean, port?: number): Promise<HealthFinding> {
  if (!project.start) return { reason: 'no trial start: there is no start command' };
  if (!probe) return { reason: 'no trial start (--no-probe)' };
  if (project.build && !existsSync(join(projectDir, 'node_modules'))) return { reason: 'no trial start: the project needs its dependencies and a build first' };
  // A start that runs build output which is not there yet (dist/ before `npm run build`) cannot answer.
  const entry = /^node\s+(\S+)/.exec(project.start)?.[1];
  if (project.build && entry && !existsSync(join(projectDir, entry))) return { reason: `no trial start: ${entry} is made by \`${project.build}\`, which has not run here` };
  if (project.framework === 'Next.js' && project.build && !existsSync(join(projectDir, '.next'))) return { reason: `no trial start: \`${project.start}\` serves .next, which \`${project.build}\` makes and which has not run here` };
  return findHealthPath(projectDir, project.start, { needsInstall: project.hasDependencies, port });
}

/** Writes files that are missing (or, with --force, all), and says what it did with each. */
function writeFiles(projectDir: string, files: Array<[string, string]>, force: boolean | undefined) {
  const done: Array<{ file: string; action: 'wrote' | 'overwrote' | 'kept'; note?: string }> = [];
  for (const [name, content] of files) {
    const path = join(projectDir, name);
    const exists = existsSync(path);
    if (exists && !force) {
      done.push({ file: name, action: 'kept' });
      continue;
    }
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
    done.push({ file: name, action: exists ? 'overwrote' : 'wrote' });
  }
  return done;
}

/** `ferry init --monitoring`: Prometheus, alert rules with their tests, Alertmanager, Grafana and a compose file to run them. */
async function initMonitoring(io: Io, projectDir: string, force: boolean | undefined): Promise<number> {
  const project = readProjectFacts(projectDir);
  const config = existsSync(join(projectDir, CONFIG_FILE)) ? loadConfig(projectDir) : undefined;
  const environments = config ? Object.entries(config.environments).map(([name, env]) => ({ name, port: env.port })) : [{ name: 'production', port: 3000 }, { name: 'staging', port: 3001 }];
  // An exporter for each store the dependencies use (MongoDB, Redis, PostgreSQL, Kafka).
  const exporters = project.services;
  const agentPort = config?.agent.port ?? 7070;
  const done = writeFiles(projectDir, monitoringFiles({ app: project.app, environments, agentPort, exporters }), force);
  const next = [
    'ferry token > monitoring/secrets/ferry-agent.token: Prometheus and Alertmanager read the agent\'s API token there (it stays the same until `ferry token --rotate`)',
    'set the team receiver\'s URL in monitoring/alertmanager.yml',
    'docker compose -f docker-compose.monitoring.yml up -d; Grafana on http://127.0.0.1:3030',
    ...(agentPort === 0 ? ['agent.port is 0 (a free port each start): set a fixed one, or Prometheus cannot find the agent'] : []),
  ];
  if (io.json) io.out(JSON.stringify({ files: done, exporters, next }, null, 2));
  else {
    for (const d of done) io.out(`${d.action.padEnd(9)} ${d.file}${d.action === 'kept' ? ' (exists; --force replaces it)' : ''}`);
    io.out(`exporters: ${exporters.length ? exporters.join(', ') : 'none (no MongoDB, Redis, PostgreSQL or Kafka client in the dependencies)'}`);
    for (const line of next) io.out(`next     ${line}`);
  }
  return 0;
}

/**
 * When environments run on hosts, the deploy workflows run on GitHub's runner and reach them over SSH with
 * the GitHub environment's secrets: the SSH key, known_hosts, and the secrets each environment declares.
 */
function remoteDeployOf(config: FerryConfig): RemoteDeploy | undefined {
  const envs = Object.values(config.environments).filter((env) => env.hosts.length > 0);
  if (envs.length === 0) return undefined;
  const knownHostsFiles = envs.some((env) => !env.ssh.known_hosts_secret) ? ['SSH_KNOWN_HOSTS'] : [];
  const names = envs.flatMap((env) => [env.ssh.key_secret, env.ssh.known_hosts_secret, ...env.secrets, env.notify.webhook_secret_env, env.registry?.password_env, env.database?.url_secret]);
  return { secrets: [...new Set([...names, ...knownHostsFiles].filter((name): name is string => Boolean(name)))].sort(), knownHostsFiles };
}

/** `ferry init`: writes what is missing, never overwrites without --force, and says what it did with each file. */
export async function init(io: Io, projectDir: string, options: { force?: boolean; workflowsOnly?: boolean; probe?: boolean; probePort?: number; monitoring?: boolean }): Promise<number> {
  if (options.monitoring) return initMonitoring(io, projectDir, options.force);
  // An existing ferry.yml shapes the workflows: its CI services and setup, where ferry comes from, and whether there is anything to deploy.
  const config = existsSync(join(projectDir, CONFIG_FILE)) ? loadConfig(projectDir) : undefined;
  const writesConfig = !options.workflowsOnly && (!config || Boolean(options.force));
  const ciFerry = ciFerryOf(config, writesConfig);
  const { facts, project, health, own } = await factsOf(projectDir, options.probe !== false && !options.workflowsOnly, ciFerry, options.probePort);
  // No workflow installs ferry from a source nobody pinned: `--workflows` refuses, a whole init writes the rest and says why.
  const workflows = own || Boolean(ciFerry.pinned);
  if (!workflows && options.workflowsOnly) {
    throw new FerryError({ code: 'WORKFLOW_FERRY_UNPINNED', message: 'no workflow written: ferry.yml does not say where CI installs ferry from (workflow.ferry), and ferry will not install it by a name on the npm registry, which it does not own', hint: HOW_TO_PIN });
  }
  const deploys = !config || Object.keys(config.environments).length > 0;
  const remote = config && remoteDeployOf(config);
  const files: Array<[string, string]> = [
    ...(options.workflowsOnly ? [] : ([['ferry.yml', ferryYml(facts)], ['Dockerfile', dockerfile(facts)], ['.dockerignore', DOCKERIGNORE], ['docker-compose.dev.yml', composeDev(facts)]] as Array<[string, string]>)),
    ...(workflows ? ([['.github/workflows/ci.yml', ciWorkflow(facts, { ...(config?.workflow ?? workflowSchema.parse({})), services: config?.workflow.services ?? project.services })]] as Array<[string, string]>) : []),
    ...(workflows && deploys ? ([['.github/workflows/deploy.yml', deployWorkflow(facts, remote)], ['.github/workflows/rollback.yml', rollbackWorkflow(facts, remote)]] as Array<[string, string]>) : []),
  ];
  const done: Array<{ file: string; action: 'wrote' | 'overwrote' | 'kept' | 'skipped'; note?: string }> = [];
  // A project's own .gitignore is never replaced, not even with --force: ferry only says what it lacks.
  if (!options.workflowsOnly) {
    const path = join(projectDir, '.gitignore');
    if (!existsSync(path)) {
      writeFileSync(path, gitignore(facts));
      done.push({ file: '.gitignore', action: 'wrote' });
    } else {
      // ferry's state lives outside the project; what git must not see here is the installed dependencies.
      const ignoresDeps = /^\/?node_modules\/?\s*$/m.test(readFileSync(path, 'utf8'));
      done.push({ file: '.gitignore', action: 'kept', note: ignoresDeps ? 'exists' : 'exists; add `node_modules/` to it: installed dependencies must not be committed' });
    }
  }
  done.push(...writeFiles(projectDir, files, options.force));
  // Not an edit the deploy needs: the workflows wait for a pinned source of ferry, and init says how to name one.
  if (!workflows) done.push({ file: '.github/workflows', action: 'skipped', note: `not written: CI would install ferry from a source nobody pinned; ${HOW_TO_PIN}` });
  const assumed = [
    ...(options.workflowsOnly ? [] : [...project.assumptions, { what: 'health', value: facts.healthPath, from: health.path ? health.reason : `a guess: ${health.reason}` }]),
    ...(facts.ferryInstall ? [{ what: 'ferry in CI', value: describePinned(facts.ferryInstall), from: ciFerry.from }] : []),
  ];
  const edits = options.workflowsOnly
    ? []
    : [
        ...(facts.start ? [] : ['ferry.yml: add `start: <command>` to each environment: the project has no start script, main or bin']),
        ...(health.path ? [] : [`ferry.yml: check health.path (${facts.healthPath} is a guess): set it to a path that answers 200 when the service is ready`]),
      ];
  if (io.json) io.out(JSON.stringify({ app: facts.app, files: done, assumed, edits }, null, 2));
  else {
    for (const d of done) io.out(`${d.action.padEnd(9)} ${d.file}${d.action === 'kept' ? ` (${d.note ?? 'exists; --force replaces it'})` : d.note ? ` (${d.note})` : ''}`);
    for (const a of assumed) io.out(`assumed  ${a.what}: ${a.value}  (${a.from})`);
    for (const e of edits) io.out(`edit     ${e}`);
    io.out(`next: ${edits.length ? 'make the edit above, then ' : ''}\`ferry deploy production\`; commit, then \`ferry ci\` locally`);
  }
  return 0;
}
