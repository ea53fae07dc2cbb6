/**
 * What ferry's processes and the instances they start inherit from the environment they were started from.
 * Nothing else crosses: a variable of the deploying shell (an API key exported for one deploy) must never
 * reach the agent, the router, or another environment's instances. Secrets travel per request and land
 * in the release's .env (0600) only.
 */

/** The base every instance gets (then PORT, HOST, FERRY_* and its own release's .env and `env:`). */
export const INSTANCE_BASE_VARS = ['PATH', 'HOME', 'LANG', 'TZ', 'NODE_ENV'] as const;

/** What a build command needs beyond the instance base: proxies, certificates and a temp folder for package managers. */
const BUILD_EXTRA_VARS = ['TMPDIR', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'NODE_EXTRA_CA_CERTS'] as const;

/** The agent and the router: the build set, plus where state lives and how to reach the Docker engine. */
const FERRY_PROCESS_VARS = [
  ...INSTANCE_BASE_VARS,
  ...BUILD_EXTRA_VARS,
  'USER',
  'LOGNAME',
  'LANGUAGE',
  'XDG_STATE_HOME',
  'XDG_RUNTIME_DIR',
  'FERRY_STATE_DIR',
  'DOCKER_HOST',
  'DOCKER_CONFIG',
  'DOCKER_CERT_PATH',
  'DOCKER_TLS_VERIFY',
] as const;

function pick(env: NodeJS.ProcessEnv, names: readonly string[], prefixes: readonly string[] = []): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && (names.includes(name) || prefixes.some((prefix) => name.startsWith(prefix)))) picked[name] = value;
  }
  return picked;
}

/** The environment the agent and the router start with. */
export const ferryProcessEnv = (env: NodeJS.ProcessEnv = process.env) => pick(env, FERRY_PROCESS_VARS, ['LC_']);

/** The base of an instance's environment. */
export const instanceBaseEnv = (env: NodeJS.ProcessEnv = process.env) => pick(env, INSTANCE_BASE_VARS);

/** The base of a build command's environment. */
export const buildBaseEnv = (env: NodeJS.ProcessEnv = process.env) => pick(env, [...INSTANCE_BASE_VARS, ...BUILD_EXTRA_VARS]);
