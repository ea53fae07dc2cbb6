import type { IncomingMessage } from 'node:http';
import { FerryError } from '../util/errors.js';
import { roleOfToken, type AgentTokens, type TokenRole } from './tokens.js';
import type { Sessions } from './sessions.js';

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** The name of a Host header without its port ("[::1]:7070" → "[::1]"). */
export function hostName(header: string): string {
  const bracketed = /^(\[[^\]]+\])(?::\d+)?$/.exec(header);
  if (bracketed) return bracketed[1].toLowerCase();
  return header.replace(/:\d+$/, '').toLowerCase();
}

/**
 * A page on another site can make a browser send requests here through a DNS name it controls that
 * resolves to 127.0.0.1 (DNS rebinding): only loopback names and the ones ferry.yml lists are answered.
 */
export function checkHost(req: IncomingMessage, allowed: readonly string[]): void {
  const header = req.headers.host;
  const name = header ? hostName(header) : '';
  if (LOOPBACK_NAMES.has(name) || allowed.map((a) => a.toLowerCase()).includes(name)) return;
  throw new FerryError({
    code: 'HOST_REFUSED',
    message: header ? `the agent does not answer for Host "${header}"` : 'a request without a Host header',
    hint: 'Reach the agent as 127.0.0.1, localhost or [::1]; add other names to agent.allowed_hosts in ferry.yml.',
  });
}

export const SESSION_COOKIE = 'ferry_session';

/** Who is asking: the role its token grants, and whether it came as a bearer token (the CLI) or a dashboard session cookie. */
export interface Caller {
  role: TokenRole;
  via: 'bearer' | 'session';
}

export function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

/**
 * `Authorization: Bearer <token>` (compared in constant time; another scheme is refused), or else the
 * dashboard's session cookie. The hint names where the tokens are, not what they are.
 */
export function authenticate(req: IncomingMessage, tokens: AgentTokens, sessions: Sessions, tokenFile: string): Caller {
  const hint = `\`ferry token\` prints the admin token (\`--read-only\` the read-only one); they are in ${tokenFile}.`;
  const header = req.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer ([^\s]+)$/.exec(header);
    const role = match ? roleOfToken(tokens, match[1]) : undefined;
    if (role) return { role, via: 'bearer' };
    throw new FerryError({ code: 'UNAUTHORIZED', message: match ? 'wrong bearer token' : 'Authorization must be `Bearer <token>`', hint });
  }
  const session = cookie(req, SESSION_COOKIE);
  if (session !== undefined) {
    const role = sessions.roleOf(tokens, session);
    if (role) return { role, via: 'session' };
    throw new FerryError({ code: 'UNAUTHORIZED', message: 'the dashboard session is not valid (signed out, expired, or its token was rotated): sign in again', hint });
  }
  throw new FerryError({ code: 'UNAUTHORIZED', message: 'missing bearer token: send `Authorization: Bearer <token>`', hint });
}

/** A request that changes state: the admin token only; from a browser session, only from the dashboard's own page. */
export function checkMayChange(req: IncomingMessage, caller: Caller): void {
  if (caller.role !== 'admin') {
    throw new FerryError({ code: 'FORBIDDEN', message: 'the read-only token may look, not change anything', hint: 'Sign in with the admin token (`ferry token` prints it).' });
  }
  if (caller.via === 'session') checkSameOrigin(req);
}

/**
 * Logs are the output of the project's own code and tests, which can print anything (a connection string, a
 * token a test made): the read-only token, meant for sharing, does not read them. What the dashboard shows of
 * a failure is kept apart, with the environment's secret values masked.
 */
export function checkMayReadLogs(caller: Caller): void {
  if (caller.role !== 'admin') {
    throw new FerryError({ code: 'FORBIDDEN', message: 'the read-only token does not read logs: they are the output of the project\'s own commands, which can print anything', hint: 'Sign in with the admin token (`ferry token` prints it) to read logs.' });
  }
}

/**
 * What a browser sends from the dashboard's own page and a cross-site one cannot (CSRF): the page's header, an
 * Origin naming this very host, and, where the browser says, Sec-Fetch-Site same-origin. The session cookie is
 * SameSite=Strict as well; this does not rely on it.
 */
export function checkSameOrigin(req: IncomingMessage): void {
  const origin = req.headers.origin;
  let originHost: string | undefined;
  try {
    originHost = origin ? new URL(origin).host : undefined;
  } catch {
    originHost = undefined;
  }
  const site = req.headers['sec-fetch-site'];
  if (req.headers['x-ferry-csrf'] !== '1' || originHost === undefined || originHost !== req.headers.host || (site !== undefined && site !== 'same-origin')) {
    throw new FerryError({
      code: 'FORBIDDEN',
      message: `a cross-site request was refused (Origin ${origin ?? 'missing'}, Sec-Fetch-Site ${String(site ?? 'missing')})`,
      hint: 'Changes come from the dashboard page itself, or from the CLI with the bearer token.',
    });
  }
}
