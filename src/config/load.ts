import { existsSync, readFileSync, statSync } from 'node:fs';
import { MAX_CONFIG_BYTES, MAX_YAML_ALIASES } from './limits.js';
import { join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { configSchema, type FerryConfig } from './schema.js';
import { FerryError } from '../util/errors.js';

export const CONFIG_FILE = 'ferry.yml';

export interface ConfigProblem {
  path: string;
  message: string;
  found?: string;
}

export function configError(file: string, problems: ConfigProblem[]): FerryError {
  return new FerryError({
    code: 'CONFIG_INVALID',
    message: `${file} is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}); nothing was started or changed`,
    details: problems.map((p) => `${file}: ${p.path || '(root)'}: ${p.message}${p.found === undefined ? '' : ` (found ${p.found})`}`),
    hint: 'Fix the fields above; the JSON Schema in schema/ferry.schema.json gives editors completion and checks.',
  });
}

function describeFound(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function valueAt(root: unknown, path: PropertyKey[]): unknown {
  let current: unknown = root;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function problemsFrom(issues: z.core.$ZodIssue[], raw: unknown): ConfigProblem[] {
  return issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      return { path, message: `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}; remove or correct ${issue.keys.length > 1 ? 'them' : 'it'}` };
    }
    const found = valueAt(raw, issue.path);
    const message = issue.code === 'invalid_type' && found === undefined ? `is required (${issue.message.replace(/^Invalid input: /, '')})` : issue.message.replace(/^Invalid input: /, '');
    return { path, message, found: describeFound(found) };
  });
}

/** Checks across fields, on the raw document so that they are reported together with schema problems. */
function crossFieldProblems(raw: unknown): ConfigProblem[] {
  const envs = (raw as { environments?: unknown })?.environments;
  if (!envs || typeof envs !== 'object') return [];
  // Every listening port of the router: each environment's HTTP port and, with https:, its HTTPS port.
  const byPort = new Map<unknown, Array<{ name: string; path: string }>>();
  for (const [name, env] of Object.entries(envs as Record<string, { port?: unknown; https?: { port?: unknown } }>)) {
    const ports: Array<[unknown, string]> = [[env?.port, `environments.${name}.port`], [env?.https ? (env.https.port ?? 443) : undefined, `environments.${name}.https.port`]];
    for (const [port, path] of ports) if (typeof port === 'number') byPort.set(port, [...(byPort.get(port) ?? []), { name, path }]);
  }
  const problems: ConfigProblem[] = [];
  for (const [port, users] of byPort) {
    for (const { name, path } of users.slice(1)) {
      if (users[0].name === name) continue; // the schema says it: https.port must differ from port
      problems.push({ path, message: `port ${port} is also used by environment "${users[0].name}"; each environment needs its own port`, found: String(port) });
    }
  }
  const agentPort = (raw as { agent?: { port?: unknown } }).agent?.port ?? 7070;
  if (agentPort !== 0 && byPort.has(agentPort)) {
    problems.push({ path: 'agent.port', message: `port ${agentPort} is also an environment's port`, found: String(agentPort) });
  }
  return problems;
}

/** Parses and validates ferry.yml text; throws one FerryError listing every problem. */
export function parseConfig(text: string, file = CONFIG_FILE): FerryConfig {
  const document = parseDocument(text, { prettyErrors: true });
  if (document.errors.length > 0) {
    throw configError(file, document.errors.map((e) => ({ path: '', message: `YAML syntax: ${e.message.split('\n')[0]}` })));
  }
  let raw: unknown;
  try {
    raw = document.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (error) {
    // yaml refuses a document whose aliases expand past the limit (an alias bomb) here.
    throw configError(file, [{ path: '', message: `YAML: ${(error as Error).message} (at most ${MAX_YAML_ALIASES} alias uses)` }]);
  }
  const result = configSchema.safeParse(raw ?? {});
  const problems = [...(result.success ? [] : problemsFrom(result.error.issues, raw)), ...crossFieldProblems(raw)];
  if (problems.length > 0 || !result.success) throw configError(file, problems);
  return result.data;
}

export function loadConfig(projectDir: string): FerryConfig {
  const file = join(resolve(projectDir), CONFIG_FILE);
  if (!existsSync(file)) {
    throw new FerryError({
      code: 'CONFIG_MISSING',
      message: `no ${CONFIG_FILE} in ${resolve(projectDir)}`,
      hint: `Run ferry from your project's root, or pass --project <dir>. The README's "Configuration" section shows a complete ${CONFIG_FILE}.`,
    });
  }
  const stat = statSync(file);
  if (!stat.isFile()) {
    throw new FerryError({ code: 'CONFIG_NOT_A_FILE', message: `${file} is not a file (it is a ${stat.isDirectory() ? 'folder' : 'special file'})`, hint: `Remove it and write ferry.yml as a file (\`ferry init\` writes one).` });
  }
  if (stat.size > MAX_CONFIG_BYTES) {
    throw new FerryError({ code: 'CONFIG_TOO_LARGE', message: `${file} is ${stat.size} bytes; ferry.yml may be at most ${MAX_CONFIG_BYTES} bytes`, hint: 'ferry.yml holds settings only: a page or two. Check that the right file is there.' });
  }
  return parseConfig(readFileSync(file, 'utf8'), file);
}

/**
 * ferry.yml for a process that reads it again and again (the agent's probes, sampler and certificate checks):
 * parsed again only when the file changed (its size, modification or change time, or inode), since a parse is
 * a YAML parse and a validation. A file that no longer loads throws, as loadConfig does.
 */
export function configReader(projectDir: string): () => FerryConfig {
  const file = join(resolve(projectDir), CONFIG_FILE);
  let seen: { key: string; config: FerryConfig } | undefined;
  return () => {
    const stat = statSync(file, { throwIfNoEntry: false });
    const key = stat ? `${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}` : '';
    if (seen?.key === key && key) return seen.config;
    const config = loadConfig(projectDir);
    seen = { key, config };
    return config;
  };
}

/** The environment of that name, if ferry.yml has one: its own key only (`__proto__`, `constructor` name none). */
export function environmentNamed(config: FerryConfig, name: string): FerryConfig['environments'][string] | undefined {
  return Object.hasOwn(config.environments, name) ? config.environments[name] : undefined;
}

export function environmentOf(config: FerryConfig, name: string) {
  const env = environmentNamed(config, name);
  if (!env) {
    throw new FerryError({
      code: 'UNKNOWN_ENVIRONMENT',
      message: `unknown environment "${name}"`,
      hint: `Environments in ferry.yml: ${Object.keys(config.environments).join(', ')}.`,
    });
  }
  return env;
}
