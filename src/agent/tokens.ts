import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readJsonOr, writeJsonAtomic } from '../util/fs-atomic.js';

/** `admin`: everything, deploys and rollbacks included; `read`: what the dashboard shows, for sharing. */
export type TokenRole = 'admin' | 'read';
export const TOKEN_ROLES: readonly TokenRole[] = ['admin', 'read'];

export type AgentTokens = Record<TokenRole, string>;

const newToken = () => randomBytes(24).toString('hex');
const isToken = (value: unknown): value is string => typeof value === 'string' && /^[0-9a-f]{48}$/.test(value);

/**
 * The agent's tokens, in tokens.json in the state folder (0600): made once and kept across agent restarts,
 * so a signed-in dashboard and a shared read-only token stay valid until `ferry token --rotate`.
 */
export function loadTokens(file: string): AgentTokens {
  const stored = readJsonOr<Partial<AgentTokens> | undefined>(file, undefined);
  if (stored && isToken(stored.admin) && isToken(stored.read)) return { admin: stored.admin, read: stored.read };
  const tokens = { admin: isToken(stored?.admin) ? stored.admin : newToken(), read: isToken(stored?.read) ? stored.read : newToken() };
  writeJsonAtomic(file, tokens, 0o600);
  return tokens;
}

/** Replaces one token (the other stays); what was signed in with the old one is signed out. */
export function rotateToken(file: string, role: TokenRole): AgentTokens {
  const tokens = { ...loadTokens(file), [role]: newToken() };
  writeJsonAtomic(file, tokens, 0o600);
  return tokens;
}

function equal(given: string, wanted: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(wanted);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The role a bearer token grants, if any. */
export function roleOfToken(tokens: AgentTokens, given: string): TokenRole | undefined {
  return TOKEN_ROLES.find((role) => equal(given, tokens[role]));
}
