import { createHash, createHmac } from 'node:crypto';

/** One line of an OpenSSH known_hosts file: the names it matches, and the key. */
interface Entry {
  patterns: string[];
  hashed?: { salt: Buffer; hash: Buffer };
  keyType: string;
  key: Buffer;
  revoked: boolean;
}

/** How OpenSSH names a host in known_hosts: `host`, or `[host]:port` for another port than 22. */
export const knownHostName = (host: string, port: number) => (port === 22 ? host : `[${host}]:${port}`);

/** The fingerprint OpenSSH shows: SHA256, base64 without padding. */
export const fingerprint = (key: Buffer) => `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;

export function parseKnownHosts(text: string): Entry[] {
  const entries: Entry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    let revoked = false;
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') {
      revoked = fields[0] === '@revoked';
      // Certificate authorities are not supported: their lines are skipped, not trusted.
      if (!revoked) continue;
      fields.shift();
    }
    if (fields.length < 3) continue;
    const [names, keyType, key] = fields;
    if (names.startsWith('|1|')) {
      const [, , salt, hash] = names.split('|');
      entries.push({ patterns: [], hashed: { salt: Buffer.from(salt, 'base64'), hash: Buffer.from(hash, 'base64') }, keyType, key: Buffer.from(key, 'base64'), revoked });
    } else entries.push({ patterns: names.split(','), keyType, key: Buffer.from(key, 'base64'), revoked });
  }
  return entries;
}

const wildcard = (pattern: string, name: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i').test(name);

function matches(entry: Entry, name: string): boolean {
  if (entry.hashed) return createHmac('sha1', entry.hashed.salt).update(name).digest().equals(entry.hashed.hash);
  let hit = false;
  for (const pattern of entry.patterns) {
    if (pattern.startsWith('!')) {
      if (wildcard(pattern.slice(1), name)) return false;
    } else if (wildcard(pattern, name)) hit = true;
  }
  return hit;
}

export type HostKeyVerdict = { ok: true } | { ok: false; reason: 'unknown' | 'mismatch' | 'revoked'; known: string[] };

/**
 * Checks a host's key against known_hosts as OpenSSH does: a revoked key is refused; the key must be one
 * listed for the name; a name with other keys listed is a mismatch (possibly an attack), a name with none unknown.
 */
export function checkHostKey(entries: Entry[], host: string, port: number, key: Buffer): HostKeyVerdict {
  const name = knownHostName(host, port);
  if (entries.some((e) => e.revoked && e.key.equals(key))) return { ok: false, reason: 'revoked', known: [] };
  const listed = entries.filter((e) => !e.revoked && matches(e, name));
  if (listed.some((e) => e.key.equals(key))) return { ok: true };
  return { ok: false, reason: listed.length ? 'mismatch' : 'unknown', known: listed.map((e) => `${e.keyType} ${fingerprint(e.key)}`) };
}
