import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readJsonOr, writeJsonAtomic } from '../util/fs-atomic.js';
import type { AgentTokens, TokenRole } from './tokens.js';

/** How long a dashboard sign-in lasts. */
export const SESSION_MAX_AGE_S = 30 * 24 * 3600;

interface SessionRecord {
  role: TokenRole;
  expiresAt: number;
}

const mac = (tokens: AgentTokens, role: TokenRole, id: string) => createHmac('sha256', tokens[role]).update(`ferry dashboard session v2 ${id}`).digest('base64url');

/**
 * The dashboard's sessions, kept by the agent (sessions.json in the state folder, 0600, across restarts): a
 * cookie names one (`<role>.<id>.<MAC keyed by the role's token>`), so signing out ends it for good, not only
 * in that browser, and rotating a token ends every session of its role. A session expires after 30 days.
 */
export class Sessions {
  private records: Record<string, SessionRecord>;

  constructor(private readonly file: string, private readonly now: () => number = Date.now) {
    const stored = readJsonOr<Record<string, SessionRecord>>(file, {});
    this.records = Object.fromEntries(Object.entries(stored).filter(([, record]) => record.expiresAt > this.now()));
  }

  /** A new session of that role: the cookie's value. */
  open(tokens: AgentTokens, role: TokenRole): string {
    const id = randomBytes(18).toString('base64url');
    this.records[id] = { role, expiresAt: this.now() + SESSION_MAX_AGE_S * 1000 };
    this.save();
    return `${role}.${id}.${mac(tokens, role, id)}`;
  }

  /** The role of a live session the cookie names, if it is one. */
  roleOf(tokens: AgentTokens, value: string): TokenRole | undefined {
    const [role, id, given] = value.split('.');
    const record = id ? this.records[id] : undefined;
    if (!record || record.role !== role || record.expiresAt <= this.now() || !given) return undefined;
    const wanted = Buffer.from(mac(tokens, record.role, id!));
    const actual = Buffer.from(given);
    return wanted.length === actual.length && timingSafeEqual(wanted, actual) ? record.role : undefined;
  }

  /** Signing out: the session the cookie names ends (a cookie that names none changes nothing). */
  close(value: string): void {
    const id = value.split('.')[1];
    if (id && this.records[id]) {
      delete this.records[id];
      this.save();
    }
  }

  /** A rotated token: every session of its role ends. */
  closeRole(role: TokenRole): void {
    for (const [id, record] of Object.entries(this.records)) if (record.role === role) delete this.records[id];
    this.save();
  }

  private save(): void {
    const now = this.now();
    for (const [id, record] of Object.entries(this.records)) if (record.expiresAt <= now) delete this.records[id];
    writeJsonAtomic(this.file, this.records, 0o600);
  }
}
