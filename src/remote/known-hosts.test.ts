import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { batches, parseHost, shellWord } from './hosts.js';
import { checkHostKey, fingerprint, parseKnownHosts } from './known-hosts.js';

const key = (n: number) => Buffer.from(`ssh-ed25519-key-${n}`);
const line = (names: string, n: number) => `${names} ssh-ed25519 ${key(n).toString('base64')}`;

describe('known_hosts', () => {
  it('accepts the listed key, names a different one a mismatch and an unlisted host unknown, with fingerprints', () => {
    const entries = parseKnownHosts([line('web1.example.com,10.0.0.5', 1), line('[10.0.0.6]:2222', 2), '# comment', ''].join('\n'));
    expect(checkHostKey(entries, '10.0.0.5', 22, key(1))).toEqual({ ok: true });
    expect(checkHostKey(entries, '10.0.0.6', 2222, key(2))).toEqual({ ok: true });
    // Port 22 and another port are different names, as in OpenSSH.
    expect(checkHostKey(entries, '10.0.0.6', 22, key(2))).toMatchObject({ ok: false, reason: 'unknown' });
    expect(checkHostKey(entries, 'web1.example.com', 22, key(3))).toEqual({ ok: false, reason: 'mismatch', known: [`ssh-ed25519 ${fingerprint(key(1))}`] });
    expect(fingerprint(key(1))).toMatch(/^SHA256:[A-Za-z0-9+/]+$/);
  });

  it('matches hashed names (HashKnownHosts), wildcards and negations, and refuses revoked keys', () => {
    const salt = randomBytes(20);
    const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('[db.internal]:2200').digest('base64')}`;
    const entries = parseKnownHosts([line(hashed, 4), line('*.example.com,!bad.example.com', 5), `@revoked * ssh-ed25519 ${key(6).toString('base64')}`].join('\n'));
    expect(checkHostKey(entries, 'db.internal', 2200, key(4))).toEqual({ ok: true });
    expect(checkHostKey(entries, 'api.example.com', 22, key(5))).toEqual({ ok: true });
    expect(checkHostKey(entries, 'bad.example.com', 22, key(5))).toMatchObject({ ok: false, reason: 'unknown' });
    expect(checkHostKey(entries, 'api.example.com', 22, key(6))).toMatchObject({ ok: false, reason: 'revoked' });
  });
});

describe('hosts', () => {
  it('reads user@host[:port], in batches of `parallel`, and quotes remote words', () => {
    expect(parseHost('deploy@10.0.0.5')).toEqual({ user: 'deploy', host: '10.0.0.5', port: 22, label: 'deploy@10.0.0.5' });
    expect(parseHost('ops@[::1]:2222')).toMatchObject({ host: '::1', port: 2222 });
    expect(parseHost('nobody')).toBeUndefined();
    expect(parseHost('a@b:70000')).toBeUndefined();
    expect(batches([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(shellWord('/srv/my app')).toBe(`'/srv/my app'`);
    expect(shellWord("it's")).toBe(`'it'\\''s'`);
    expect(shellWord('ferry/hello/repo')).toBe('ferry/hello/repo');
  });
});
