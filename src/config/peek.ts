import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { MAX_CONFIG_BYTES, MAX_YAML_ALIASES } from './limits.js';

/**
 * ferry.yml read without validation, for what only needs a hint: where the state lives, whether an
 * environment names hosts. The command that acts on the config (the agent, a deploy) validates it and
 * reports its problems; a file that cannot be read or parsed here gives no hints. No zod is loaded, which
 * keeps read-only commands such as `ferry status` quick to start.
 */
export function peekConfig(projectDir: string): Record<string, unknown> | undefined {
  try {
    const file = join(projectDir, 'ferry.yml');
    if (statSync(file).size > MAX_CONFIG_BYTES) return undefined;
    const raw: unknown = parseDocument(readFileSync(file, 'utf8')).toJS({ maxAliasCount: MAX_YAML_ALIASES });
    return raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether ferry.yml may give the environment hosts: anything under `hosts:` but an empty list counts, so
 * that a malformed value reaches the full validation of the hosts path and is reported there.
 */
export function mayNameHosts(raw: Record<string, unknown> | undefined, env: string): boolean {
  const environments = raw?.environments;
  if (!environments || typeof environments !== 'object' || !Object.hasOwn(environments, env)) return false;
  const hosts = (environments as Record<string, { hosts?: unknown } | null>)[env]?.hosts;
  return hosts !== undefined && hosts !== null && !(Array.isArray(hosts) && hosts.length === 0);
}
