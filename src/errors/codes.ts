import { ExitCode } from './exit-codes.js';

/** One error ferry reports on purpose: its exit code (CLI), HTTP status (API) and what it means (README). */
export interface ErrorCodeEntry {
  exitCode: ExitCode;
  httpStatus: number;
  meaning: string;
}

const usage = (meaning: string, httpStatus = 400): ErrorCodeEntry => ({ exitCode: ExitCode.usage, httpStatus, meaning });
const person = (meaning: string, httpStatus = 500): ErrorCodeEntry => ({ exitCode: ExitCode.needsPerson, httpStatus, meaning });
const stillServing = (meaning: string, httpStatus = 409): ErrorCodeEntry => ({ exitCode: ExitCode.failedPreviousServing, httpStatus, meaning });

/**
 * Every error code, in one place. The README's table of error codes is generated from this (a test keeps
 * them equal), and the CLI takes the exit code across the HTTP hop from the agent's answer.
 */
export const ERROR_CODES = {
  USAGE: usage('a command or request is missing something or has a wrong value'),
  CONFIG_MISSING: usage('no ferry.yml in the project folder'),
  CONFIG_INVALID: usage('ferry.yml breaks the schema (one line per problem, with its path)'),
  CONFIG_NOT_A_FILE: usage('ferry.yml is not a regular file (a folder, say)'),
  CONFIG_TOO_LARGE: usage('ferry.yml is over 1 MB: refused before parsing'),
  UNKNOWN_ENVIRONMENT: usage('ferry.yml has no environment of that name'),
  SECRET_MISSING: usage('a secret the environment names is not set in the deploying shell'),
  NOT_A_GIT_REPOSITORY: usage('a ref was given for a project that is not a git repository'),
  USER_UNKNOWN: usage('`user:` names an account or group this machine does not have'),
  USER_NOT_PERMITTED: usage('`user:` needs ferry to run as root'),
  USER_CANNOT_REACH: usage("`user:` names an account that cannot pass through a folder above ferry's state"),
  INVALID_REF: usage('the ref is not revision syntax (refused before it reaches git)'),
  UNKNOWN_REF: usage('git does not know the ref'),
  UNKNOWN_RELEASE: usage('no release of that id in the environment'),
  RELEASE_PRUNED: usage('the release was pruned (retain keeps the newest only)'),
  NO_ROLLBACK_TARGET: usage('the environment has no earlier good release'),
  PROMOTE_MISMATCH: usage('the release to promote is not of the commit being deployed'),
  PROMOTE_REFUSED: stillServing("the source environment failed promote's smoke checks; nothing changed"),
  WORKFLOW_FERRY_UNPINNED: usage('`ferry init --workflows` without workflow.ferry: CI would install ferry from a source nobody pinned'),
  PIPELINE_INVALID: usage('pipeline stages that cannot be planned (a cycle, an unknown need)'),
  BRANCH_POLICY: usage('the branch policy refused or cannot decide the deploy'),
  AGENT_PORT_UNAVAILABLE: usage('an explicit agent --port is taken'),
  AGENT_ALREADY_RUNNING: usage('another agent holds the state folder (ferry uses that one)'),
  SCAN_NO_LOCKFILE: usage('the scan needs a package-lock.json'),
  UPLOAD_UNCONFIGURED: usage('SARIF upload needs GITHUB_TOKEN and GITHUB_REPOSITORY'),
  UPLOAD_FAILED: person("GitHub's code-scanning API refused an upload", 502),
  MIGRATE_NAME: usage('a migration name that cannot make a file name'),
  MIGRATE_EXISTS: usage('a migration file of that name exists'),
  MIGRATE_TARGET: usage('`migrate --to` names no migration'),
  MIGRATION_PLAN: usage('the migration run cannot be planned as asked'),
  MIGRATION_UNKNOWN: usage('`migrate resolve` names a migration with no changelog entry'),
  MIGRATION_NOT_BLOCKING: usage('`migrate resolve` names a migration that is not failed or interrupted'),
  MIGRATION_DUPLICATE: usage('two migration files share a name'),
  MIGRATION_INVALID: usage('a migration file does not export up (and down where needed)'),
  MIGRATION_LOAD_FAILED: usage('a migration file could not be loaded'),
  DATABASE_ERROR: usage('the migration database could not be reached or refused the login'),
  MIGRATIONS_DRIFT: { exitCode: ExitCode.migrationsDrift, httpStatus: 409, meaning: 'applied migration files were modified or deleted, or a new one sorts before them; nothing ran' },
  MIGRATIONS_BLOCKED: person('a failed or interrupted migration waits for `ferry migrate resolve`', 409),
  MIGRATION_LOCK_TIMEOUT: stillServing('another runner held the migration lock for longer than migrations.lock_wait'),
  MIGRATION_LOCK_LOST: person('the migration lock was lost mid-run; nothing more was committed'),
  MIGRATION_DESTRUCTIVE: stillServing('migrations.strict refused changes destructive for the serving release'),
  MIGRATION_FAILED: stillServing('a migration failed and was rolled back where the database allows'),
  LOCK_TIMEOUT: stillServing("another deployment held the environment's lock for too long"),
  STEP_FAILED: stillServing('a deploy step failed (the deployment result says what serves)'),
  BUILD_FAILED: stillServing('the build command failed; the deploy halted before anything changed'),
  CHECKOUT_FAILED: person('git could not export the commit'),
  DOCKERFILE_MISSING: usage('the environment names a Dockerfile that is not in the commit'),
  SHARED_DATA_NOT_CARRIED: stillServing('a switch from the process runtime to containers would leave a shared folder\'s data behind: no volume is mounted there; nothing changed'),
  IMAGE_BUILD_FAILED: stillServing('the image build failed; the deploy halted before anything changed'),
  IMAGE_PUSH_FAILED: stillServing('the image push to the registry failed; the deploy halted before anything changed', 502),
  ENGINE_UNREACHABLE: person('the Docker engine did not answer', 503),
  SWARM_UNAVAILABLE: person('this engine is not a Swarm manager', 503),
  SWARM_UNPLACED: person('Swarm placed no task in time'),
  ROUTER_START_FAILED: person('the router did not come up'),
  HOST_KEY_REFUSED: usage("a host's SSH key is not in known_hosts, or not the one listed there: nothing was sent"),
  SSH_FAILED: person('a host could not be reached over SSH, or the connection dropped'),
  REMOTE_INSTALL_FAILED: person('ferry could not be installed on a host (no Node there, another Node major, or the copy failed)'),
  REMOTE_COMMAND_FAILED: person('a command ferry ran on a host over SSH failed'),
  ACME_FAILED: person('the ACME server did not issue a certificate (a challenge failed, or it refused the order)', 502),
  TLS_FILES_INVALID: usage("https.certificate's files cannot be read, are not PEM, or the key is not the certificate's"),
  DEV_SERVICE_FAILED: person('a service `ferry dev` starts (a container or a command) did not come up'),
  SETUP_UNIT_INVALID: person('`systemd-analyze verify` found a problem in a unit `ferry setup` wrote'),
  SETUP_FAILED: person('systemctl could not enable or start the units `ferry setup` wrote'),
  ROUTER_REFUSED: person('the router refused a control request'),
  AGENT_START_FAILED: person('the agent did not come up'),
  AGENT_LOST: person('the connection to the agent was lost mid-deployment (it reconciles when it restarts)'),
  AGENT_ERROR: person('the agent answered with an error ferry does not know'),
  SQLITE_UNAVAILABLE: person("neither better-sqlite3's native module nor Node's built-in node:sqlite loads on this Node"),
  STATE_DATABASE_REPLACED: person("ferry.db was deleted or replaced under the running agent; it stopped writing", 503),
  UNAUTHORIZED: usage('missing, malformed or wrong bearer token, or an ended dashboard session', 401),
  FORBIDDEN: usage('the read-only token asked to change something or to read logs, or a cross-site request from a browser to change something', 403),
  HOST_REFUSED: usage('the Host header names neither loopback nor a configured name (DNS rebinding)', 421),
  NOT_FOUND: usage('no such API route or record', 404),
  METHOD_NOT_ALLOWED: usage('the API route exists, but not for that method (the message lists the ones it takes)', 405),
  BODY_TOO_LARGE: usage('the request body is over the API limit', 413),
  INVALID_JSON: usage('the request body is not JSON'),
  INTERNAL: person('a bug: ferry did not expect this'),
} as const satisfies Record<string, ErrorCodeEntry>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The README's table of error codes, as Markdown. */
export function errorCodeTable(): string {
  const rows = Object.entries(ERROR_CODES).map(([code, entry]) => `| \`${code}\` | ${entry.exitCode} | ${entry.httpStatus} | ${entry.meaning} |`);
  return ['| code | exit | HTTP | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}
