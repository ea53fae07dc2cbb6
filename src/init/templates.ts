import { stringify } from 'yaml';
import type { ServiceName } from './project-facts.js';
import { devServices, SERVICE_SPECS } from './services.js';
import type { WorkflowConfig } from '../config/schema.js';
import type { PinnedFerry } from '../config/ferry-pin.js';

export interface InitFacts {
  app: string;
  /** The command that starts one instance (package.json's start script, main or bin), if the project says. */
  start?: string;
  /** The build command, when package.json has a build script. */
  build?: string;
  /** The health path a trial start found, else /health. */
  healthPath: string;
  nodeVersion: string;
  /** How workflows call ferry: `ferry` once installed, or `node bin/ferry.js` in ferry's own repository. */
  ferry: string;
  /** What workflows install ferry from (workflow.ferry: a git URL at a commit or tag, or a tarball with its integrity); none in ferry's own repository. */
  ferryInstall?: PinnedFerry;
  /** workflow.ferry to write into a new ferry.yml (this ferry's own git origin at its commit), when there is one. */
  ferryPin?: string;
  /** The services the dependencies call for (MongoDB, Redis, PostgreSQL, Kafka): ferry dev's and docker-compose.dev.yml's. */
  services: ServiceName[];
  /** Folders the app keeps data in: each environment's `shared:`. */
  shared?: string[];
}

/** The branch policy `ferry init` writes: develop → staging, main → production, hotfix/* → production through main. */
export const DEFAULT_BRANCHES = { develop: 'staging', main: 'production', 'hotfix/*': { through: 'main' } };

export function ferryYml(facts: InitFacts): string {
  // The process runtime is the embedded default: dependencies are installed from the lockfile on each deploy (and reused).
  const env = (port: number) => ({ port, strategy: 'blue-green', ...(facts.start ? { start: facts.start } : {}), ...(facts.build ? { build: facts.build } : {}), ...(facts.shared?.length ? { shared: [...facts.shared] } : {}), health: { path: facts.healthPath } });
  const dev = facts.services.length ? { dev: { services: devServices(facts.services, facts.app) } } : {};
  const workflow = facts.ferryPin ? { workflow: { ferry: facts.ferryPin } } : {};
  const yaml = stringify({ app: facts.app, branches: DEFAULT_BRANCHES, ...dev, ...workflow, environments: { production: env(3000), staging: env(3001) } });
  const missingStart = facts.start ? '' : '# EDIT: add `start: <command that starts one instance>` to each environment (the project has no start script, main or bin).\n';
  return `# ferry's configuration (ferry's README, "Configuration"; JSON Schema in ferry's schema/ferry.schema.json).
# runtime: process (the default) runs the release directly; \`runtime: docker\` builds and runs the Dockerfile instead.
${missingStart}${yaml}`;
}

/** The Dockerfile's CMD: `node file` in exec form; anything else through sh's exec, so signals still reach the app. */
function dockerCmd(start: string | undefined): string {
  const command = start ?? 'node index.js';
  if (/^node(\s+[^\s"'\\]+)+$/.test(command)) return JSON.stringify(command.split(/\s+/)).replace(/","/g, '", "');
  return JSON.stringify(['sh', '-c', `exec ${command}`]).replace(/","/g, '", "');
}

export function dockerfile(facts: InitFacts): string {
  // A project with a build script is built inside the image, from its sources: the image does not depend on what
  // the host built, and `ferry ci` can build it beside the checks instead of after the host's build.
  const [firstStage, copyApp] = facts.build
    ? [
        `FROM \${BASE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev && mkdir -p node_modules`,
        'COPY --chown=1000:1000 --from=build /app ./',
      ]
    : [
        `FROM \${BASE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && mkdir -p node_modules`,
        'COPY --chown=1000:1000 --from=deps /app/node_modules ./node_modules\nCOPY --chown=1000:1000 . .',
      ];
  return `# syntax=docker/dockerfile:1
# Multi-stage, production dependencies only, non-root, a HEALTHCHECK, and node started directly (exec form)
# so SIGTERM reaches the app: it should stop accepting connections, finish in-flight requests, then exit 0.
ARG BASE_IMAGE=node:${facts.nodeVersion}-bookworm-slim

${firstStage}

FROM \${BASE_IMAGE}
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 PATH=/app/node_modules/.bin:$PATH
WORKDIR /app
${copyApp}
# The app's folder and files belong to the user it runs as: an app that writes beside its code (a data folder, a cache) can.
RUN chown 1000:1000 /app
USER 1000:1000
EXPOSE 3000
HEALTHCHECK --interval=5s --timeout=2s --start-period=10s --retries=3 \\
  CMD ["node", "-e", "require('http').get({host:'127.0.0.1',port:process.env.PORT,path:'${facts.healthPath}'},r=>process.exit(r.statusCode>=200&&r.statusCode<300?0:1)).on('error',()=>process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ${dockerCmd(facts.start)}
`;
}

/**
 * What git should not see: ferry's state, and what installs and builds produce. Unignored build output would
 * also change every `ferry ci` stage's input key, so the run after a build could reuse nothing.
 */
export function gitignore(facts: InitFacts): string {
  return ['node_modules/', '.ferry/', 'coverage/', 'sarif/', ...(facts.build ? ['dist/'] : [])].join('\n') + '\n';
}

export const DOCKERIGNORE = `.ferry
.git
.github
node_modules
npm-debug.log
coverage
sarif
*.log
`;

/**
 * ferry itself, from the pinned source workflow.ferry names (installed globally: it is not the project's
 * dependency). A tarball is checked against its integrity before npm sees it; a git URL names its commit or tag.
 * The values reach the script through env, never spliced into it.
 */
const installFerry = (facts: InitFacts) => {
  const pinned = facts.ferryInstall;
  if (!pinned) return '';
  if ('git' in pinned) {
    // Packed first, then installed: `npm install --global <git URL>` runs the package's build in global scope
    // and fails (npm/cli#8440); `npm pack` builds it in a folder of its own.
    return `      - name: Install ferry (${pinned.git} at ${pinned.ref})
        env:
          FERRY_SOURCE: ${JSON.stringify(`${pinned.git}#${pinned.ref}`)}
        run: |
          packed="$(mktemp -d)"
          (cd "$packed" && npm pack --silent "$FERRY_SOURCE" > /dev/null)
          npm install --global --no-audit --no-fund "$packed"/ferry-*.tgz
`;
  }
  const algorithm = pinned.integrity.split('-')[0];
  const fetch = /^https:\/\//i.test(pinned.tarball) ? 'curl -fsSL --retry 3 -o "$tarball" "$FERRY_TARBALL"' : 'cp -- "$FERRY_TARBALL" "$tarball"';
  return `      - name: Install ferry (tarball, ${algorithm} checked)
        env:
          FERRY_TARBALL: ${JSON.stringify(pinned.tarball)}
          FERRY_INTEGRITY: ${JSON.stringify(pinned.integrity)}
        run: |
          tarball="$(mktemp -d)/ferry.tgz"
          ${fetch}
          actual="${algorithm}-$(openssl dgst -${algorithm} -binary "$tarball" | base64 -w0)"
          if [ "$actual" != "$FERRY_INTEGRITY" ]; then
            echo "::error::ferry's tarball $FERRY_TARBALL has integrity $actual, not the $FERRY_INTEGRITY that workflow.ferry pins: not installing it"
            exit 1
          fi
          npm install --global --no-audit --no-fund "$tarball"
`;
};

/** Checkout, Node with npm's cache, the project's dependencies and ferry: the first steps of every job that runs ferry. */
const setupSteps = (facts: InitFacts) => `      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with:
          node-version: ${facts.nodeVersion}
          cache: npm
      - run: npm ci
${installFerry(facts)}`;

const SERVICES: Record<ServiceName, { block: string; env: Record<string, string> }> = {
  kafka: {
    block: `      kafka:
        image: ${SERVICE_SPECS.kafka.image}
        ports: ['9092:9092']
        env:
${Object.entries(SERVICE_SPECS.kafka.containerEnv('127.0.0.1:9092')).map(([key, value]) => `          ${key}: '${value}'`).join('\n')}
        options: --health-cmd "${SERVICE_SPECS.kafka.healthcheck}" --health-interval 5s --health-timeout 10s --health-retries 20
`,
    env: { KAFKA_BROKERS: '127.0.0.1:9092' },
  },
  mongo: {
    block: `      mongo:
        image: mongo:7
        ports: ['27017:27017']
        options: >-
          --health-cmd "mongosh --quiet --eval 'db.runCommand({ ping: 1 })'"
          --health-interval 5s --health-timeout 5s --health-retries 10
`,
    env: { MONGODB_URL: 'mongodb://127.0.0.1:27017' },
  },
  redis: {
    block: `      redis:
        image: redis:7
        ports: ['6379:6379']
        options: --health-cmd "redis-cli ping" --health-interval 5s --health-timeout 5s --health-retries 10
`,
    env: { REDIS_URL: 'redis://127.0.0.1:6379' },
  },
  postgres: {
    block: `      postgres:
        image: postgres:15
        env:
          POSTGRES_USER: ci
          POSTGRES_PASSWORD: ci
          POSTGRES_DB: ci
        ports: ['5432:5432']
        options: --health-cmd "pg_isready -U ci" --health-interval 5s --health-timeout 5s --health-retries 10
`,
    env: { DATABASE_URL: 'postgres://ci:ci@127.0.0.1:5432/ci' },
  },
};

/** Every branch and pull request: the pipeline, the security scan as SARIF to the Security tab. */
export function ciWorkflow(facts: InitFacts, workflow: WorkflowConfig & { services: NonNullable<WorkflowConfig['services']> }): string {
  const env = { ...Object.assign({}, ...workflow.services.map((name) => SERVICES[name].env)), ...workflow.env } as Record<string, string>;
  const envBlock = Object.keys(env).length ? `    env:\n${Object.entries(env).map(([k, v]) => `      ${k}: ${v}`).join('\n')}\n` : '';
  const servicesBlock = workflow.services.length ? `    services:\n${workflow.services.map((name) => SERVICES[name].block).join('')}` : '';
  const setup = workflow.setup.map((command) => `      - run: ${command}\n`).join('');
  return `# Written by ferry init. Every push and pull request runs the same pipeline as \`ferry ci\` on a laptop.
name: ci
on:
  push:
    branches: ['**']
  pull_request:
permissions:
  contents: read
  security-events: write
concurrency:
  # A new push to a pull request cancels its superseded run; pushes to branches each run to the end.
  group: ci-\${{ github.workflow }}-\${{ github.event.pull_request.number || github.ref }}
  cancel-in-progress: \${{ github.event_name == 'pull_request' }}
jobs:
  pipeline:
    runs-on: ubuntu-latest
    timeout-minutes: 60
${servicesBlock}${envBlock}    steps:
${setupSteps(facts)}${setup}      - name: Pipeline (ferry ci)
        run: ${facts.ferry} ci
      - name: Security scan as SARIF
        if: always()
        run: ${facts.ferry} scan --tool npm-audit --tool licenses --sarif sarif --sbom sbom.cdx.json --fail-on critical
      - name: Upload SARIF to the Security tab
        if: always()
        uses: github/codeql-action/upload-sarif@v3
        with:
          sarif_file: sarif
`;
}

/** When environments run on hosts over SSH: the secrets the deploy job gets from GitHub's environment secrets. */
export interface RemoteDeploy {
  /** Every secret name the deploying environments use: their key, their known_hosts, their own secrets. */
  secrets: string[];
  /** The known_hosts secrets that ferry.yml does not name (ssh.known_hosts_secret): written to ~/.ssh/known_hosts by a step. */
  knownHostsFiles: string[];
}

/** The job's head: on the server (a self-hosted runner), or on GitHub's runner reaching the hosts over SSH. */
function deployJob(remote: RemoteDeploy | undefined, environment: string): string {
  if (!remote) return `    runs-on: [self-hosted, ferry]
    environment: ${environment}
`;
  const env = remote.secrets.map((name) => `      ${name}: \${{ secrets.${name} }}\n`).join('');
  return `    runs-on: ubuntu-latest
    environment: ${environment}
    env:
${env}`;
}

/** Steps before ferry runs: for hosts, the whole history (git bundles need it) and the hosts' keys. */
function deploySetup(facts: InitFacts, remote: RemoteDeploy | undefined): string {
  const steps = setupSteps(facts);
  if (!remote) return steps;
  const known = remote.knownHostsFiles.map((name) => `      - name: Host keys (${name})\n        run: mkdir -p ~/.ssh && printf '%s\\n' "$${name}" >> ~/.ssh/known_hosts\n`).join('');
  return steps.replace('      - uses: actions/checkout@v4\n', '      - uses: actions/checkout@v4\n        with:\n          fetch-depth: 0\n') + known;
}

/** develop → staging, main → production (behind a GitHub environment); a deploy in flight is never cancelled. */
export function deployWorkflow(facts: InitFacts, remote?: RemoteDeploy): string {
  const where = remote
    ? "Runs on GitHub's runner and deploys to the environment's hosts over SSH; its secrets (the SSH key, known_hosts, the app's secrets) are the GitHub environment's secrets."
    : 'Runs on a self-hosted runner on the server ferry deploys to (label: ferry).';
  return `# Written by ferry init. ${where}
name: deploy
on:
  push:
    branches: [develop, main]
concurrency:
  group: deploy-\${{ github.ref_name }}
  cancel-in-progress: false
permissions:
  contents: read
jobs:
  deploy:
${deployJob(remote, "${{ github.ref_name == 'main' && 'production' || 'staging' }}")}    timeout-minutes: 60
    steps:
${deploySetup(facts, remote)}      - name: Pipeline, then deploy where ferry.yml's branches say
        run: ${facts.ferry} ci --deploy
`;
}

/** A manual rollback: pick the environment and, optionally, the release. */
export function rollbackWorkflow(facts: InitFacts, remote?: RemoteDeploy): string {
  return `# Written by ferry init. Actions → rollback → Run workflow.
name: rollback
on:
  workflow_dispatch:
    inputs:
      environment:
        description: Environment to roll back
        type: choice
        options: [staging, production]
        required: true
      release:
        description: Release to go back to, e.g. r12 (empty = the previous good release)
        type: string
        required: false
concurrency:
  group: deploy-\${{ inputs.environment }}
  cancel-in-progress: false
permissions:
  contents: read
jobs:
  rollback:
${deployJob(remote, '${{ inputs.environment }}')}    steps:
${deploySetup(facts, remote)}      - name: Roll back
        env:
          ENVIRONMENT: \${{ inputs.environment }}
          RELEASE: \${{ inputs.release }}
        run: ${facts.ferry} rollback "$ENVIRONMENT" \${RELEASE:+--to "$RELEASE"}
`;
}

/**
 * docker-compose.dev.yml: the app with reload on change (node --watch) beside the services its dependencies
 * call for, each published on 127.0.0.1 only, the app given their addresses under the names staging and
 * production use. `ferry dev` does the same without Compose.
 */
export function composeDev(facts: InitFacts): string {
  const start = facts.start ?? 'node index.js';
  const watched = /^node\s+(?!--watch)/.test(start) ? start.replace(/^node\s+/, 'node --watch ') : start;
  const app: Record<string, unknown> = {
    image: `node:${facts.nodeVersion}`,
    working_dir: '/app',
    command: ['sh', '-c', `npm install && exec ${watched}`],
    ports: ['127.0.0.1:3000:3000'],
    environment: { PORT: '3000', HOST: '0.0.0.0', NODE_ENV: 'development', ...Object.fromEntries(facts.services.map((name) => [SERVICE_SPECS[name].variable, SERVICE_SPECS[name].url(name, SERVICE_SPECS[name].port, facts.app)])) },
    volumes: ['.:/app'],
    ...(facts.services.length ? { depends_on: Object.fromEntries(facts.services.map((name) => [name, { condition: 'service_healthy' }])) } : {}),
  };
  const services = Object.fromEntries(
    facts.services.map((name) => {
      const spec = SERVICE_SPECS[name];
      const environment = Object.fromEntries(Object.entries(spec.containerEnv(`${name}:${spec.port}`)).map(([key, value]) => [key, value.replace('__APP__', facts.app)]));
      return [name, { image: spec.image, ports: [`127.0.0.1:${spec.port}:${spec.port}`], ...(Object.keys(environment).length ? { environment } : {}), healthcheck: { test: ['CMD-SHELL', spec.healthcheck], interval: '5s', timeout: '10s', retries: 20 } }];
    }),
  );
  return `# Written by ferry init: the app with reload on change and its services, for development.
#   docker compose -f docker-compose.dev.yml up
# \`ferry dev\` does the same without Compose (the services of ferry.yml's dev:, the app on this machine).
${stringify({ services: { app, ...services } })}`;
}
