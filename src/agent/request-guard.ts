import type { IncomingMessage } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { FerryError } from '../util/errors.js';

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

/** `Authorization: Bearer <token>`, compared in constant time; anything else (no prefix, another scheme) is refused. */
export function checkToken(req: IncomingMessage, token: string, tokenFile: string): void {
  const match = /^Bearer ([^\s]+)$/.exec(req.headers.authorization ?? '');
  const given = Buffer.from(match?.[1] ?? '');
  const wanted = Buffer.from(token);
  if (match && given.length === wanted.length && timingSafeEqual(given, wanted)) return;
  throw new FerryError({ code: 'UNAUTHORIZED', message: match ? 'wrong bearer token' : 'missing bearer token: send `Authorization: Bearer <token>`', hint: `The token is in ${tokenFile}.` });
}
