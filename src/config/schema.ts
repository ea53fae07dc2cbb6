import { z } from '../util/zod.js';
import { unpinnedReason } from './ferry-pin.js';
import { parseDurationMs } from '../util/duration.js';
import { VOLUME_PATTERN } from './mounts.js';

/**
 * A duration within a range: a number and a unit (ms, s, m, h, d, w), from `min` to `max` inclusive. Every
 * duration has one: `interval: 0ms` would spin, and `watch: 99999999h` would hold a deploy for ever.
 */
function duration(min: string, max: string) {
  const [low, high] = [parseDurationMs(min)!, parseDurationMs(max)!];
  return z
    .string()
    .superRefine((text, ctx) => {
      const ms = parseDurationMs(text);
      if (ms === undefined) ctx.addIssue({ code: 'custom', message: 'expected a duration such as 500ms, 2s, 1m or 1h' });
      else if (ms < low || ms > high) ctx.addIssue({ code: 'custom', message: `expected a duration from ${min} to ${max}` });
    })
    .describe(`A duration from ${min} to ${max}: a number followed by ms, s, m, h, d or w.`);
}

const port = z.number().int().min(1).max(65535);
const sharedPath = z.string().regex(/^(?!\/)(?!.*\.\.)[A-Za-z0-9_.@/-]+$/, 'expected a folder relative to the app, such as storage or public/uploads');
const envVarName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name such as API_KEY');

export const healthSchema = z.strictObject({
  // What goes on the request line as it is: printable ASCII, no space (Node refuses to send anything else).
  path: z
    .string()
    .regex(/^\/[\x21-\x7e]*$/, 'expected a path that starts with / and holds no spaces or control characters, such as /health (percent-encode the rest: /he%20alth)')
    .default('/health'),
  interval: duration('10ms', '10m').default('1s'),
  timeout: duration('10ms', '10m').default('2s'),
  healthy_threshold: z.number().int().min(1).default(2),
  unhealthy_threshold: z.number().int().min(1).default(1).describe('Consecutive failed probes in the watch window that trigger a switch back.'),
  deadline: duration('100ms', '1h').default('30s'),
});

export const notifySchema = z.strictObject({
  webhook: z.url().optional().describe('Generic webhook: a JSON POST, signed in X-Ferry-Signature when webhook_secret_env is set.'),
  webhook_secret_env: envVarName.optional().describe('Name of the environment variable (of the deploying shell) holding the HMAC secret.'),
  slack: z.url().optional().describe('A Slack incoming-webhook URL.'),
});

/** The secret that signs the webhook, when there is a webhook to sign: a deployment without its value is refused (or, from the dashboard, sends no webhook). */
export function webhookSigningSecret(notify: z.infer<typeof notifySchema>): string | undefined {
  return notify.webhook ? notify.webhook_secret_env : undefined;
}

export const analysisCheckSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9_-]+$/i).describe('How the check is named in history and notifications.'),
    metric: z.enum(['error_ratio', 'p50_seconds', 'p95_seconds', 'p99_seconds', 'requests']).optional().describe("The new release's own measure from the router's counters since the switch: 5xx share, a latency quantile, or the request count."),
    query: z.string().min(1).optional().describe('A PromQL query against analysis.prometheus; {{environment}} and {{release}} are replaced; the first sample is the measurement.'),
    samples_query: z.string().min(1).optional().describe('PromQL for the sample size of `query` (the request count, say); min_samples applies to it.'),
    max: z.number().optional().describe('Fails above this.'),
    min: z.number().optional().describe('Fails below this.'),
    min_samples: z.number().int().min(0).default(20).describe('Fewer requests (router metric) or samples (samples_query) than this is not yet data.'),
    no_data: z.enum(['fail', 'pass', 'wait']).default('fail').describe('What no data (or too few samples) means when the window ends: fail (roll back), pass, or wait up to max_wait for data, then fail.'),
  })
  .superRefine((check, ctx) => {
    if (Boolean(check.metric) === Boolean(check.query)) ctx.addIssue({ code: 'custom', message: 'give exactly one of metric (router counters) or query (PromQL)' });
    if (check.max === undefined && check.min === undefined) ctx.addIssue({ code: 'custom', message: 'give a threshold: max, min or both' });
  });

export const analysisSchema = z
  .strictObject({
    prometheus: z.string().url().optional().describe('Prometheus base URL for query checks (http://127.0.0.1:9090).'),
    interval: duration('100ms', '10m').default('2s').describe('How often the checks are measured during the watch window.'),
    max_wait: duration('0ms', '1h').default('2m').describe('How long a no_data: wait check may keep the deploy waiting for data after the watch window.'),
    checks: z.array(analysisCheckSchema).min(1),
  })
  .superRefine((analysis, ctx) => {
    if (analysis.checks.some((c) => c.query) && !analysis.prometheus) ctx.addIssue({ code: 'custom', path: ['prometheus'], message: 'query checks need analysis.prometheus' });
  })
  .describe('The metrics gate: checks measured during the watch window after the switch; one failing rolls the deploy back.');

export type AnalysisConfig = z.infer<typeof analysisSchema>;
export type AnalysisCheck = z.infer<typeof analysisCheckSchema>;

export const proxySchema = z
  .strictObject({
    connect_timeout: duration('10ms', '10m').default('5s').describe('An instance that does not accept the connection within this gets the request answered 504.'),
    response_timeout: duration('100ms', '1h').default('60s').describe('An instance that sends no response head within this (after the request was sent) gets it answered 504.'),
  })
  .describe("The router's upstream timeouts for this environment.");

const memory = z.string().regex(/^\d+(\.\d+)?[kmg]?$/i, 'expected a size such as 512m or 1g');

export const resourcesSchema = z.strictObject({
  memory: memory.optional().describe('Memory limit of each container, e.g. 512m.'),
  cpus: z.number().positive().optional().describe('CPU limit of each container, e.g. 0.5.'),
});

export const registrySchema = z
  .strictObject({
    server: z
      .string()
      .regex(/^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._/-]+)?$/i, 'expected a registry host, with an optional port and path, such as registry.example.com:5000/team')
      .describe('Where images are pushed after the build and pulled from by every node: host[:port][/path].'),
    username: z.string().min(1).optional(),
    password_env: envVarName.optional().describe('Name of the environment variable (of the deploying shell) holding the registry password or token.'),
  })
  .describe('docker and swarm runtimes: push each release image here (a multi-node swarm pulls it from here).');

export const databaseSchema = z
  .strictObject({
    kind: z.enum(['postgres', 'mongodb']),
    url_secret: envVarName.describe('Name of the secret (an environment variable of the deploying shell) holding the connection URL.'),
  })
  .describe('The application database that `ferry migrate` and the deploy\'s migrate step run migrations against.');

export const migrationsSchema = z
  .strictObject({
    dir: z.string().min(1).default('migrations').describe('Folder of migration files (.ts, .js, .mjs), relative to the project root.'),
    changelog: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'expected a lowercase table or collection name').default('changelog').describe('Table (PostgreSQL) or collection (MongoDB) recording what ran.'),
    timeout: duration('1s', '24h').default('5m').describe('Longest one migration may run; it is then stopped, rolled back where the database allows, and recorded as failed.'),
    lock_wait: duration('0ms', '1h').default('2m').describe('How long a second runner waits for the migration lock before it gives up.'),
    lock_ttl: duration('1s', '1h').default('30s').describe('A lock whose heartbeat is older than this belongs to a dead runner and is taken over.'),
    strict: z.boolean().default(false).describe('Refuse (rather than warn about) migrations that look destructive for the release still serving.'),
  })
  .prefault({});

export const stageSchema = z.strictObject({
  run: z.string().min(1).describe('Shell command of the stage, run in the project root.'),
  needs: z.array(z.string()).default([]).describe('Stages that must succeed first.'),
  inputs: z.array(z.string()).optional().describe('Globs of the files whose content decides whether a green result can be reused (default: every file git knows, tracked or not ignored).'),
  timeout: duration('1s', '24h').default('30m'),
  tests: z.boolean().optional().describe('This stage runs the tests (default: a stage named test, test-*, or coverage). A whole run in which no such stage succeeded tested nothing: exit 13, and `--deploy` deploys nothing unless pipeline.deploy_unchecked says why.'),
});

export const pipelineSchema = z
  .strictObject({
    fail_fast: z.boolean().default(true).describe('On the first failure, cancel the running stages and start no more.'),
    concurrency: z.number().int().min(1).optional().describe('Stages run at once (default: the CPU count).'),
    stages: z.record(z.string().regex(/^[a-z0-9][a-z0-9-_]*$/, 'expected a lowercase stage name'), stageSchema).optional().describe('Replaces the default stages when given.'),
    skip: z.array(z.string().min(1)).default([]).describe('Stages to leave out (default or your own), each shown as skipped with this as the reason: `skip: [image, coverage]` turns off those default stages and keeps the rest. A skipped test stage still means nothing was tested.'),
    deploy_unchecked: z.string().min(1).optional().describe('`ferry ci --deploy` deploys a run that tested nothing, or whose scan could not scan, only when this says why that is acceptable.'),
  })
  .prefault({});

export const branchTargetSchema = z.union([
  z.string().min(1).describe('The environment a green pipeline on this branch deploys to.'),
  z.strictObject({ through: z.string().min(1).describe('This branch deploys nothing itself: it reaches its environment by merging into this branch.') }),
]);

export const workflowSchema = z
  .strictObject({
    services: z.array(z.enum(['mongo', 'redis', 'postgres', 'kafka'])).optional().describe("Service containers of the CI job (their URLs are set in its env). Default: what package.json's dependencies use (mongodb or mongoose → mongo, redis or ioredis → redis, pg or postgres → postgres, kafkajs → kafka)."),
    setup: z.array(z.string().min(1)).default([]).describe('Commands the CI job runs after npm ci, before the pipeline.'),
    env: z.record(z.string(), z.string()).default({}).describe('More environment variables of the CI job.'),
    ferry: z
      .union([
        z.string().min(1).describe('A git URL pinned to a commit or tag: git+https://github.com/you/ferry.git#v0.1.0, git+ssh://…#<commit>, github:you/ferry#<commit>.'),
        z.strictObject({
          tarball: z.string().min(1).describe('An https URL of the tarball `npm pack` made, or its path in the repository.'),
          integrity: z.string().describe('Its integrity, as `npm pack --json` prints it (sha512-<base64>); CI checks it before installing.'),
        }),
      ])
      .optional()
      .superRefine((value, ctx) => {
        const reason = value === undefined ? undefined : unpinnedReason(value);
        if (reason) ctx.addIssue({ code: 'custom', message: reason });
      })
      .describe("Where the generated workflows install ferry from: a git URL at a commit or tag, or a tarball with its integrity; never a registry name. `ferry init` writes no workflow without it (a ferry.yml it writes proposes this ferry's own git origin at the commit it runs)."),
  })
  .prefault({})
  .describe('What `ferry init` puts in the GitHub workflows it writes.');

export const scanSchema = z
  .strictObject({
    fail_on: z.enum(['info', 'low', 'moderate', 'high', 'critical']).default('high').describe('`ferry scan` exits 1 when a finding is at least this severe.'),
    licenses: z
      .strictObject({
        allow: z.array(z.string().min(1)).default(['MIT', 'MIT-0', 'Apache-2.0', 'ISC', 'BSD-2-Clause', 'BSD-3-Clause', '0BSD', 'BlueOak-1.0.0', 'CC0-1.0', 'CC-BY-3.0', 'CC-BY-4.0', 'Unlicense', 'Python-2.0', 'Zlib', 'WTFPL', 'Artistic-2.0']).describe('SPDX licence ids a dependency may be used under.'),
        exceptions: z.record(z.string(), z.string()).default({}).describe('Packages accepted whatever their licence, each with the reason.'),
        include_dev: z.boolean().default(false).describe('Check devDependencies too (they are not shipped).'),
      })
      .prefault({}),
  })
  .prefault({});

const domainName = z
  .string()
  .regex(/^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/, 'expected a domain name such as shop.example.com (or *.example.com with a certificate from files)');

const httpsSchema = z
  .strictObject({
    port: z.number().int().min(1).max(65535).default(443).describe('Where the router terminates TLS for this environment (the HTTP port stays `port:`).'),
    domains: z.array(domainName).min(1).describe('The names the environment answers on: the certificate covers them, and HTTP requests naming them are redirected to HTTPS.'),
    certificate: z
      .strictObject({
        cert_file: z.string().min(1).describe('PEM certificate chain, relative to the project or absolute.'),
        key_file: z.string().min(1).describe('PEM private key.'),
      })
      .optional()
      .describe('A certificate from files, renewed by whoever writes them: the agent loads replaced files at its next check (hourly; `ferry tls` checks now).'),
    acme: z
      .strictObject({
        directory: z.string().url().default('https://acme-v02.api.letsencrypt.org/directory').describe("The ACME server's directory URL (Let's Encrypt by default; its staging one to try)."),
        email: z.string().email().optional().describe('Contact for the ACME account (expiry warnings).'),
        ca_file: z.string().min(1).optional().describe("A CA certificate to trust for the ACME server's own HTTPS (a private or test ACME server, such as pebble)."),
        renew_before: duration('1h', '60d').default('30d').describe('Renew a certificate this long before it expires.'),
      })
      .optional()
      .describe('Certificates obtained and renewed automatically by ACME HTTP-01: the router answers the challenges on the HTTP port, which the domains must reach.'),
    redirect: z.boolean().default(true).describe('HTTP requests naming one of the domains get a 308 to HTTPS (ACME challenges and requests to other names, such as a health probe to 127.0.0.1, do not).'),
  })
  .superRefine((https, ctx) => {
    if (!https.certificate === !https.acme) ctx.addIssue({ code: 'custom', path: [], message: 'needs exactly one of certificate: (files) or acme: (obtained automatically)' });
    if (https.acme && https.domains.some((d) => d.startsWith('*.'))) ctx.addIssue({ code: 'custom', path: ['domains'], message: 'a wildcard needs a DNS-01 challenge, which ferry does not do: use certificate: files for it' });
  });

const sshSchema = z
  .strictObject({
    key_secret: envVarName.default('SSH_PRIVATE_KEY').describe("The secret (a variable of the deploying shell, or of CI) holding the private key ferry logs in with; without it, ssh-agent (SSH_AUTH_SOCK) is asked."),
    known_hosts_secret: envVarName.optional().describe('A secret holding known_hosts lines for the hosts (CI); else ~/.ssh/known_hosts. A host whose key is not listed is refused.'),
    dir: z.string().min(1).optional().describe("Where the project lives on each host: absolute, or under the SSH user's home (default ferry/<app>, that is ~/ferry/<app>)."),
    parallel: z.number().int().min(1).max(64).default(1).describe('Hosts deployed at once; the next group starts after the previous one succeeded.'),
    git_remote: z.string().min(1).optional().describe("The host fetches the commit from this remote itself (with its own deploy key) instead of receiving a git bundle through the connection, e.g. git@github.com:team/shop.git."),
    connect_timeout: duration('1s', '10m').default('15s'),
  })
  .prefault({});

export const environmentSchema = z
  .strictObject({
    port,
    strategy: z.enum(['blue-green', 'recreate']).default('blue-green'),
    runtime: z.enum(['process', 'docker', 'swarm']).default('process'),
    install: z.boolean().default(true).describe("process runtime: install the release's dependencies with its lockfile's package manager (npm ci, pnpm, yarn; production only when there is no build and the start command needs no dev tool), reusing the installed tree of an earlier release with the same lockfile and Node version. Off when false, or when build: installs itself."),
    build: z.string().min(1).optional().describe('process runtime: shell command run in the release directory (after the install) before it starts.'),
    start: z.string().min(1).optional().describe('process runtime (required there): command that starts one instance; it gets PORT in its environment.'),
    dockerfile: z.string().min(1).default('Dockerfile').describe('docker runtime: the Dockerfile, relative to the project root.'),
    build_args: z.record(z.string(), z.string()).default({}).describe('docker runtime: --build-arg values.'),
    container_port: port.default(3000).describe('docker runtime: the port the app listens on inside the container (it gets PORT and HOST=0.0.0.0).'),
    resources: resourcesSchema.prefault({}),
    volumes: z
      .array(z.string().regex(VOLUME_PATTERN, 'expected name:/path or /host/path:/path, with an optional :ro'))
      .default([])
      .describe('docker and swarm: named volumes (name:/path; the engine volume is <app>-<env>-<name>) and bind mounts (/host/path:/path[:ro]) of each container. Data in them survives deploys and rollbacks.'),
    shared: z
      .array(
        z.union([
          sharedPath,
          z.strictObject({
            path: sharedPath,
            seed: z
              .enum(['once', 'always', 'never'])
              .default('once')
              .describe("What the commit's own files under this folder do. once: they fill the shared folder while it is empty (the first deploy), and later commits' files there are not used (each deploy says which differ); always: they replace the shared copies at every deploy (files only the shared folder has stay); never: they are never used."),
          }),
        ]),
      )
      .default([])
      .describe("process runtime: folders of the app kept outside the releases (in the state folder's shared/<env>/) and linked into each release, so data written there survives deploys and rollbacks. A folder, or { path, seed }."),
    user: z
      .string()
      .regex(/^([a-z_][a-z0-9_-]*\$?|\d+)(:([a-z_][a-z0-9_-]*|\d+))?$/, 'expected a user name or uid, optionally :group or :gid')
      .optional()
      .describe("process runtime: the account the instances run as (name or uid, optionally :group); ferry must run as root. The release's files become its (node_modules only readable), its shared: folders writable; .env and ferry's state stay unreadable to it."),
    registry: registrySchema.optional(),
    replicas: z.number().int().min(1).max(64).default(1),
    health: healthSchema.prefault({}),
    analysis: analysisSchema.optional(),
    proxy: proxySchema.prefault({}),
    hosts: z
      .array(z.string().regex(/^[a-z_][a-z0-9_.-]*@(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?$/i, 'expected user@host or user@host:port'))
      .default([])
      .describe('Servers this environment runs on: `ferry deploy` connects over SSH, installs ferry there when its build differs, sends the commit and the secrets through the connection, and runs the deploy on each. Empty: this machine.'),
    ssh: sshSchema,
    https: httpsSchema.optional().describe('HTTPS: the router terminates TLS for the domains, with certificates from files or from ACME.'),
    watch: duration('0ms', '24h').default('10s'),
    drain: duration('0ms', '1h').default('30s'),
    stop_grace: duration('0ms', '1h').default('10s').describe('Time between SIGTERM and SIGKILL when an instance stops.'),
    secrets: z.array(envVarName).default([]),
    env: z.record(envVarName, z.string()).default({}),
    retain: z.number().int().min(1).default(5),
    notify: notifySchema.prefault({}),
    database: databaseSchema.optional(),
  })
  .superRefine((env, ctx) => {
    if (env.runtime === 'process' && !env.start) ctx.addIssue({ code: 'custom', path: ['start'], message: 'is required with runtime: process (the command that starts one instance)' });
    if (env.https && env.https.port === env.port) ctx.addIssue({ code: 'custom', path: ['https', 'port'], message: `must differ from port: (${env.port}), which stays the HTTP port` });
    if (env.runtime !== 'process' && env.user) ctx.addIssue({ code: 'custom', path: ['user'], message: `applies to runtime: process only (for ${env.runtime}, the Dockerfile's USER decides)` });
  });

const devServiceSchema = z
  .strictObject({
    image: z.string().min(1).optional().describe('A Docker image ferry dev runs (published on 127.0.0.1 only), e.g. redis:7.'),
    command: z.string().min(1).optional().describe('Or a command on this machine, e.g. `redis-server --port {port} --save ""`; {port} is the port ferry picked.'),
    port: port.describe("The service's port: inside the container (image), or the one {port} stands for (command: a free one when omitted).").optional(),
    env: z.record(envVarName, z.string()).default({}).describe('What the app gets, under the names staging and production use (MONGODB_URL, REDIS_URL, KAFKA_BROKERS…); {port} is the port on 127.0.0.1.'),
    container_env: z.record(z.string(), z.string()).default({}).describe('Variables of the container itself (image); {port} as above.'),
  })
  .superRefine((service, ctx) => {
    if (!service.image === !service.command) ctx.addIssue({ code: 'custom', path: [], message: 'needs exactly one of image: (Docker) or command: (a process on this machine)' });
    if (service.image && service.port === undefined) ctx.addIssue({ code: 'custom', path: ['port'], message: "is required with image: (the port the service listens on inside the container)" });
  });

const devSchema = z
  .strictObject({
    port: port.default(3000).describe('Where `ferry dev` runs the app (PORT).'),
    start: z.string().min(1).optional().describe("The command that runs the app in development; default: the production environment's start. It restarts when a file of the project changes."),
    env: z.record(envVarName, z.string()).default({}).describe('More variables for the app in development.'),
    watch_ignore: z.array(z.string().min(1)).default(['node_modules', '.git', 'dist', 'coverage']).describe('Folders whose changes do not restart the app.'),
    services: z.record(z.string().regex(/^[a-z0-9][a-z0-9-_]*$/), devServiceSchema).default({}).describe('What the app needs locally (MongoDB, Redis, Kafka…), started by `ferry dev` and stopped with it.'),
  })
  .prefault({});

export const configSchema = z.strictObject({
  $schema: z.string().optional(),
  app: z.string().regex(/^[a-z0-9][a-z0-9-_]*$/, 'expected a lowercase name of letters, digits, - and _'),
  state_dir: z
    .string()
    .min(1)
    .optional()
    .describe("Where ferry keeps this project's state (database, releases, backups, logs); relative paths are from the project. Default: $XDG_STATE_HOME/ferry/<app>-<hash> (~/.local/state/...), outside the project. FERRY_STATE_DIR overrides it."),
  agent: z
    .strictObject({
      port: z.number().int().min(0).max(65535).default(7070).describe('API and dashboard port on 127.0.0.1; 0 picks a free one.'),
      allowed_hosts: z.array(z.string().regex(/^[a-z0-9.-]+$/i, 'expected a host name such as ferry.internal')).default([]).describe('Host names (besides 127.0.0.1, localhost and [::1]) the API and dashboard answer to; any other Host header is refused (DNS rebinding).'),
      uptime_probe_interval: duration('100ms', '1h').default('15s').describe("How often the agent probes each serving environment's health path through the router; the results make the uptime `ferry metrics` shows (kept 90 days)."),
      traffic_sample_interval: duration('100ms', '1h').default('15s').describe("How often the agent samples the router's request counters into the state: each release's rate, error ratio and latency over time, in the dashboard and `GET /api/metrics/traffic`. The finest step those charts have."),
      traffic_retention: duration('1h', '365d').default('14d').describe('How long those samples are kept.'),
    })
    .prefault({}),
  router: z
    .strictObject({
      workers: z
        .number()
        .int()
        .min(0)
        .max(64)
        .optional()
        .describe("Proxy worker processes, as nginx's worker_processes; default: the CPU count. 0 proxies in the router's own process. A worker that dies is replaced while the router keeps accepting. Takes effect when the router starts."),
    })
    .prefault({}),
  migrations: migrationsSchema,
  scan: scanSchema,
  pipeline: pipelineSchema,
  workflow: workflowSchema,
  dev: devSchema,
  branches: z
    .record(z.string().min(1), branchTargetSchema)
    .default({ develop: 'staging', main: 'production', 'hotfix/*': { through: 'main' } })
    .describe('Branch (or glob) → environment for `ferry ci --deploy`. Exact names win over globs.'),
  environments: z
    .record(z.string().regex(/^[a-z0-9][a-z0-9-_]*$/, 'expected a lowercase environment name'), environmentSchema)
    .default({})
    .describe('Where ferry deploys; a project that only uses `ferry ci` and `ferry scan` needs none.'),
});

export type FerryConfig = z.infer<typeof configSchema>;
export type EnvironmentConfig = z.infer<typeof environmentSchema>;
export type HealthConfig = z.infer<typeof healthSchema>;
export type DatabaseConfig = z.infer<typeof databaseSchema>;
export type MigrationsConfig = z.infer<typeof migrationsSchema>;
export type PipelineConfig = z.infer<typeof pipelineSchema>;
export type StageConfig = z.infer<typeof stageSchema>;
export type WorkflowConfig = z.infer<typeof workflowSchema>;
export type ScanConfig = z.infer<typeof scanSchema>;
export type RegistryConfig = z.infer<typeof registrySchema>;
export type NotifyConfig = z.infer<typeof notifySchema>;
export type DevConfig = z.infer<typeof devSchema>;
export type DevServiceConfig = z.infer<typeof devServiceSchema>;

/** One `shared:` entry, with its seed rule (a bare folder seeds once). */
export interface SharedFolder {
  path: string;
  seed: 'once' | 'always' | 'never';
}

/** An environment's `shared:` folders, each with its seed rule. */
export function sharedFolders(config: Pick<EnvironmentConfig, 'shared'>): SharedFolder[] {
  return config.shared.map((entry) => (typeof entry === 'string' ? { path: entry, seed: 'once' } : { path: entry.path, seed: entry.seed ?? 'once' }));
}
