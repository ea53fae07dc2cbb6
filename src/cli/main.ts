import { FERRY_VERSION } from '../shared/build-info.js';
import { resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ExitCode } from '../errors/exit-codes.js';
import { FerryError } from '../util/errors.js';
import { consoleIo, printError } from './output.js';

type Options = { project?: string; json?: boolean };
const projectOf = (options: Options) => resolve(options.project ?? process.env.FERRY_PROJECT ?? process.cwd());

/** The one place that turns outcomes and errors into exit codes. */
async function execute(options: Options, body: (io: ReturnType<typeof consoleIo>, projectDir: string) => Promise<number>): Promise<never> {
  const io = consoleIo(Boolean(options.json));
  let code: number;
  try {
    code = await body(io, projectOf(options));
  } catch (error) {
    printError(io, error);
    code = error instanceof FerryError ? error.exitCode : ExitCode.needsPerson;
  }
  // Loaded here, not at the entry: most of ferry stays unloaded for --version and --help (the command loaded it anyway).
  const { takeStateNotices } = await import('../state/location.js');
  for (const notice of takeStateNotices()) io.err(`ferry: ${notice}`);
  process.exit(code);
}

/** Option values that must be whole numbers: anything else is a usage error (exit 2), never a NaN passed on. */
function positiveInteger(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError(`expected a whole number of at least 1 (found "${value}")`);
  return Number(value);
}

function portNumber(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError(`expected a port from 0 to 65535 (found "${value}")`);
  return Number(value);
}

function common(command: Command): Command {
  return command.option('-p, --project <dir>', 'project directory holding ferry.yml (default: current directory)').option('--json', 'machine-readable output on stdout');
}

export function buildProgram(): Command {
  const program = new Command('ferry')
    .description('CI/CD and zero-downtime deploys for Node.js services')
    .version(FERRY_VERSION)
    .showHelpAfterError('(run ferry --help for usage)')
    .exitOverride()
    .addHelpText(
      'after',
      '\nExit codes: 0 succeeded · 1 failed, the previous release still serving · 2 usage or configuration error · 3 failed, needs a person',
    );

  const agent = common(program.command('agent').description('run the control plane (starts the router if it is not running)'))
    .option('-d, --detach', 'run in the background')
    .addOption(new Option('--port <port>', 'API port on 127.0.0.1 (default: agent.port in ferry.yml)').argParser(portNumber))
    // Internal: run the agent in this very process (ferry starts it so, with a scrubbed environment).
    .addOption(new Option('--serve').hideHelp())
    .action((options) => execute(options, async (io, dir) => (await import('./agent-commands.js')).agentStart(io, dir, { detach: Boolean(options.detach), port: options.port, serve: Boolean(options.serve) })));
  common(agent.command('stop').description('stop the agent, the router and every instance')).action((_options, command: Command) =>
    execute(command.optsWithGlobals(), async (io, dir) => (await import('./agent-commands.js')).agentStop(io, dir)),
  );

  common(program.command('deploy <env>').description('build a release from a commit and deploy it; blocks until done'))
    .option('-r, --ref <git-ref>', 'commit, branch or tag to deploy', 'HEAD')
    .option('--here', "deploy on this machine even if the environment names hosts: (what a host's own ferry does)")
    .action((env, options) => execute(options, async (io, dir) => (await import('./deploy.js')).runDeployment(io, { projectDir: dir, env, kind: 'deploy', ref: options.ref, here: Boolean(options.here) })));

  common(program.command('rollback <env>').description('go back to the previous good release (or --to), with its config and secrets snapshot'))
    .option('--to <release-id>', 'release to go back to, e.g. r12')
    .option('--here', 'roll back on this machine even if the environment names hosts:')
    .action((env, options) => execute(options, async (io, dir) => (await import('./deploy.js')).runDeployment(io, { projectDir: dir, env, kind: 'rollback', to: options.to, here: Boolean(options.here) })));

  common(program.command('promote <from> <to>').description('deploy to <to> exactly what <from> serves (same commit, same image), after smoke checks on <from>')).action((from, to, options) =>
    execute(options, async (io, dir) => (await import('./promote.js')).promote(io, dir, from, to)),
  );

  common(program.command('status [env]').description('serving release, instances and health, last deployment (of each host, for an environment on hosts)'))
    .option('--host <user@host>', 'one host of the environment only')
    .option('--here', 'this machine, even if the environment names hosts')
    .action((env, options) => execute(options, async (io, dir) => (await import('./read-commands.js')).status(io, dir, env, { host: options.host, here: Boolean(options.here) })));

  common(program.command('tunnel <env>').description("the dashboard and API of a host's agent on a local port, through SSH (its API never listens on the network); until Ctrl-C"))
    .option('--host <user@host>', 'which host (default: the first in hosts:)')
    .addOption(new Option('--port <port>', 'local port (default: a free one)').argParser(portNumber))
    .option('--token', "print the host agent's admin token on stdout, to sign in")
    .action((env, options) => execute(options, async (io, dir) => (await import('./hosts.js')).tunnel(io, dir, env, { host: options.host, port: options.port, token: Boolean(options.token) })));

  common(program.command('history [env]').description('deployments with their steps, timings and outcome'))
    .addOption(new Option('-n, --limit <count>', 'how many deployments').default(20).argParser(positiveInteger))
    .action((env, options) => execute(options, async (io, dir) => (await import('./read-commands.js')).history(io, dir, env, options.limit)));

  common(program.command('logs <env>').description('instance output (the serving release unless --release)'))
    .option('--release <id>', 'release whose instances to show')
    .addOption(new Option('-n, --lines <count>', 'lines per instance (with --follow: before the new ones)').default(100).argParser(positiveInteger))
    .option('-f, --follow', 'keep printing new lines (`instance | line`; --json: one JSON record per line) until Ctrl-C; follows what serves across deploys')
    .option('-t, --timestamps', 'prefix each line with the time it was recorded (docker, swarm: the engine\'s; process: the time ferry read it while following, "-" before)')
    .action((env, options) => execute(options, async (io, dir) => (await import('./read-commands.js')).logs(io, dir, env, { release: options.release, lines: options.lines, follow: options.follow, timestamps: options.timestamps })));

  common(program.command('token').description("print the API's admin token (or --read-only) for the dashboard's sign-in and scripts; --rotate replaces it"))
    .option('--read-only', 'the read-only token: the dashboard and GET requests only, for sharing')
    .option('--rotate', 'replace the token; sessions signed in with the old one end')
    .action((options) => execute(options, async (io, dir) => (await import('./token.js')).token(io, dir, { readOnly: Boolean(options.readOnly), rotate: Boolean(options.rotate) })));

  common(program.command('metrics').description("DORA's four keys with their performance level, from the deploy log and git"))
    .option('-e, --env <env>', 'environment', 'production')
    .option('--since <duration>', 'the period ending now: 30d, 2w, 12h', '30d')
    .action((options) => execute(options, async (io, dir) => (await import('./delivery-commands.js')).metrics(io, dir, { env: options.env, since: options.since })));

  const incident = program.command('incident').description('incidents blame a deployment explicitly: change failure rate and recovery time count them');
  common(incident.command('open <env>').description('open an incident (blames the deployment serving now unless --deployment)'))
    .addOption(new Option('--deployment <id>', 'the deployment to blame (see ferry history)').argParser(positiveInteger))
    .option('--title <text>', 'what is wrong')
    .action((env, _options, command: Command) => execute(command.optsWithGlobals(), async (io, dir) => (await import('./delivery-commands.js')).incidentOpen(io, dir, env, command.optsWithGlobals())));
  common(incident.command('close <id>').description('close an incident: service is restored'))
    .action((id, _options, command: Command) => execute(command.optsWithGlobals(), async (io, dir) => (await import('./delivery-commands.js')).incidentClose(io, dir, positiveInteger(id))));
  common(incident.command('list [env]').description('incidents, newest first')).action((env, _options, command: Command) => execute(command.optsWithGlobals(), async (io, dir) => (await import('./delivery-commands.js')).incidentList(io, dir, env)));

  const migrate = program
    .command('migrate')
    .description('database migrations: status, up, down, verify, resolve (PostgreSQL and MongoDB)')
    .addHelpText('after', '\nmigrate status exits 0 up to date · 10 pending · 11 drift (modified, missing or out-of-order files) · 12 blocked by a failed or interrupted migration · 2 error');
  const envOption = (command: Command) => common(command).option('-e, --env <env>', 'environment whose database to use (default: the only one with a database)');
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- commander's parsed options, whose shape each command declares
  const run = (command: Command, body: (io: ReturnType<typeof consoleIo>, dir: string, options: any) => Promise<number>) =>
    command.action((...args: unknown[]) => {
      const cmd = args.at(-1) as Command;
      return execute(cmd.optsWithGlobals(), async (io, dir) => body(io, dir, { ...cmd.optsWithGlobals(), args: cmd.args }));
    });
  run(envOption(migrate.command('create <name>').description('write a new migration file, named to sort after every other')), async (io, dir, o) => (await import('./migrate.js')).migrateCreate(io, dir, o.args[0], o.env));
  run(envOption(migrate.command('status').description('applied, pending, drifted and blocked migrations')), async (io, dir, o) => (await import('./migrate.js')).migrateStatus(io, dir, o.env));
  run(
    envOption(migrate.command('up').description('run pending migrations under the lock'))
      .option('--to <name>', 'stop after this migration')
      .option('--dry-run', 'print the plan and the destructive-change check; run nothing'),
    async (io, dir, o) => (await import('./migrate.js')).migrateRun(io, dir, { env: o.env, direction: 'up', to: o.to, dryRun: o.dryRun }),
  );
  run(
    envOption(migrate.command('down').description('undo the last applied migration, or every one after --to'))
      .option('--to <name>', 'undo every migration applied after this one (it stays applied)')
      .option('--dry-run', 'print the plan; run nothing'),
    async (io, dir, o) => (await import('./migrate.js')).migrateRun(io, dir, { env: o.env, direction: 'down', to: o.to, dryRun: o.dryRun }),
  );
  run(envOption(migrate.command('verify').description("check what applied migrations declare must hold (tables, columns, indexes, collections, validators)")), async (io, dir, o) => (await import('./migrate.js')).migrateVerify(io, dir, o.env));
  run(
    envOption(migrate.command('resolve <name>').description('say what became of a failed or interrupted migration (or accept an edited applied file)'))
      .option('--applied', 'it completed (by hand, or it did before the runner died)')
      .option('--rolled-back', 'nothing of it remains'),
    async (io, dir, o) => {
      if (Boolean(o.applied) === Boolean(o.rolledBack)) throw new FerryError({ code: 'USAGE', message: 'say exactly one of --applied or --rolled-back' });
      return (await import('./migrate.js')).migrateResolve(io, dir, o.args[0], o.applied ? 'applied' : 'rolled_back', o.env);
    },
  );
  run(envOption(migrate.command('check').description('list changes that look destructive for the serving release (needs no database)')), async (io, dir, o) => (await import('./migrate.js')).migrateCheck(io, dir, o.env));

  common(program.command('scan').description('security scan: npm audit, licence policy, Trivy, OWASP dependency-check; SARIF and SBOM'))
    .option('--sarif <dir>', 'write one SARIF 2.1.0 file per tool into this folder')
    .option('--sbom <file>', 'write a CycloneDX 1.5 SBOM of the installed tree')
    .option('--fail-on <severity>', 'exit 1 when a finding is at least this severe: info, low, moderate, high, critical (default: scan.fail_on, high)')
    .option('--audit-report <file>', 'read this recorded `npm audit --json` output instead of running npm audit')
    .option('--dependency-check <file>', "OWASP dependency-check's JSON report to include")
    .option('--image <ref>', 'the image for trivy to scan (default: the project folder)')
    .option('--upload', "send the SARIF files to GitHub's code-scanning API (GITHUB_TOKEN, GITHUB_REPOSITORY)")
    .addOption(new Option('--tool <name...>', 'only these tools').choices(['npm-audit', 'licenses', 'trivy', 'dependency-check']))
    .action((options) => execute(options, async (io, dir) => (await import('./scan.js')).scan(io, dir, options)));

  common(program.command('init').description('write ferry.yml, a Dockerfile, .dockerignore and GitHub workflows (ci, deploy, rollback) into the project'))
    .option('-f, --force', 'replace files that exist')
    .option('--workflows', 'only the .github/workflows files')
    .option('--no-probe', 'do not start the project once to find its health path')
    .addOption(new Option('--probe-port <port>', 'the port of that trial start (in a temporary copy of the project; default: a free one)').argParser(portNumber))
    .option('--monitoring', 'only monitoring/: Prometheus, alert rules and their tests, Alertmanager, Grafana dashboards, docker-compose.monitoring.yml')
    .action((options) => execute(options, async (io, dir) => (await import('./init.js')).init(io, dir, { force: options.force, workflowsOnly: options.workflows, probe: options.probe, probePort: options.probePort, monitoring: options.monitoring })));

  common(program.command('ci').description('run the pipeline: stages as a graph, in parallel, cached by their inputs'))
    .option('-s, --stage <name...>', 'only these stages (and what they need)')
    .option('--no-cache', 'run every stage, even those whose inputs match a green run')
    .option('--no-fail-fast', 'on a failure, keep running what does not depend on it')
    .option('--deploy', "after a green pipeline, deploy to the environment ferry.yml's branches map this branch to")
    .option('--branch <name>', 'the branch for --deploy (default: GITHUB_REF_NAME, else git)')
    .addOption(new Option('-j, --concurrency <n>', 'stages at once (default: pipeline.concurrency, else the CPU count)').argParser(positiveInteger))
    .action((options) => execute(options, async (io, dir) => (await import('./ci.js')).ci(io, dir, { stage: options.stage, cache: options.cache, concurrency: options.concurrency, failFast: options.failFast === false ? false : undefined, deploy: options.deploy, branch: options.branch })));

  common(program.command('tls [env]').description("check each environment's HTTPS now: load replaced certificate files, obtain an ACME certificate that is due (the agent does this hourly)"))
    .option('--renew', 'obtain a new ACME certificate even if the current one is not due')
    .action((env, options) => execute(options, async (io, dir) => (await import('./tls.js')).tls(io, dir, env, { renew: Boolean(options.renew) })));

  common(program.command('setup').description('install systemd units for the router and the agent: after a reboot the serving releases come back, health-gated, before any deploy'))
    .addOption(new Option('--user', 'user units (~/.config/systemd/user); the default when not root').conflicts('system'))
    .option('--system', 'system units (/etc/systemd/system) that run as this user; the default as root')
    .option('--unit-dir <dir>', 'write the units here and enable nothing (to review or package them)')
    .option('--no-enable', 'write and check the units; do not enable or start them')
    .option('--env <env>', 'an environment on hosts: run ferry setup on each of its hosts, over SSH')
    .action((options) => {
      const setupOptions = { scope: options.system ? 'system' : options.user ? 'user' : undefined, unitDir: options.unitDir, enable: options.enable !== false } as const;
      return execute(options, async (io, dir) => (options.env ? (await import('./setup.js')).setupOnHosts(io, dir, options.env, setupOptions) : (await import('./setup.js')).setup(io, dir, setupOptions)));
    });

  common(program.command('dev').description("run the project for development: dev.services (containers or commands), then the app, restarted when a file changes"))
    .addOption(new Option('--port <port>', 'where the app listens (default: dev.port, 3000)').argParser(portNumber))
    .option('--no-services', "start the app only (the services run elsewhere)")
    .action((options) => execute(options, async (io, dir) => (await import('./dev.js')).dev(io, dir, { port: options.port, services: options.services !== false })));

  common(program.command('up').description('start ferry and deploy every environment, in the foreground (what `npm start` runs)')).action((options) =>
    execute(options, async (io, dir) => (await import('./up.js')).up(io, dir)),
  );
  return program;
}

buildProgram()
  .parseAsync(process.argv)
  .catch((error) => {
    if (error instanceof CommanderError) {
      process.exit(error.exitCode === 0 ? 0 : ExitCode.usage);
    }
    console.error(error);
    process.exit(ExitCode.needsPerson);
  });
