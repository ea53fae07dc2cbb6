import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { EnvironmentConfig } from '../config/schema.js';
import type { RouterClient } from '../router/client.js';
import type { RouteTls } from '../router/state.js';
import type { StatePaths } from '../state/paths.js';
import { privateDir } from '../shared/file-modes.js';
import { parseDurationMs } from '../util/duration.js';
import { errorMessage, FerryError } from '../util/errors.js';
import { readJsonOr, writeFileAtomic, writeJsonAtomic } from '../util/fs-atomic.js';
import { obtainCertificate } from './acme.js';

/** What an environment's certificate is, as `ferry tls` and the API show it. */
export interface CertificateStatus {
  env: string;
  domains: string[];
  source: 'files' | 'acme';
  httpsPort: number;
  /** null: no certificate yet (ACME has not issued one). */
  certificate: { serial: string; issuer: string; subject: string; names: string[]; notBefore: string; notAfter: string; certFile: string } | null;
  /** What this check did: nothing, (re)loaded files, or obtained a new certificate, and why. */
  action: 'none' | 'loaded' | 'issued' | 'removed';
  reason: string;
}

interface Issued {
  certFile: string;
  keyFile: string;
  domains: string[];
}

function describe(certFile: string): NonNullable<CertificateStatus['certificate']> {
  const x509 = new X509Certificate(readFileSync(certFile));
  const names = (x509.subjectAltName ?? '').split(', ').filter((n) => n.startsWith('DNS:')).map((n) => n.slice(4));
  return { serial: x509.serialNumber, issuer: x509.issuer.replace(/\n/g, ', '), subject: x509.subject.replace(/\n/g, ', '), names, notBefore: new Date(x509.validFrom).toISOString(), notAfter: new Date(x509.validTo).toISOString(), certFile };
}

/** Checks that a certificate and its key are PEM and belong together, before the router is told to use them. */
function checkPair(certFile: string, keyFile: string, what: string): void {
  try {
    const x509 = new X509Certificate(readFileSync(certFile));
    if (!x509.checkPrivateKey(createPrivateKey(readFileSync(keyFile)))) throw new Error('the key is not the certificate\'s');
  } catch (error) {
    throw new FerryError({ code: 'TLS_FILES_INVALID', message: `${what}: ${certFile} and ${keyFile}: ${errorMessage(error)}`, hint: 'Give a PEM certificate chain and its PEM private key.' });
  }
}

export interface TlsDeps {
  router: RouterClient;
  paths: StatePaths;
  projectDir: string;
  now?: () => number;
}

/**
 * Keeps each environment's HTTPS as ferry.yml says: certificates from files are checked and loaded; with ACME,
 * a certificate is obtained when there is none, when the domains changed, or `renew_before` its expiry, and
 * the router is told (new connections get it; open ones keep theirs). Checks of one environment run one at a time.
 */
export class TlsManager {
  private readonly running = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: TlsDeps) {}

  sync(env: string, config: EnvironmentConfig, options: { renew?: boolean } = {}): Promise<CertificateStatus | null> {
    const previous = this.running.get(env) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.syncNow(env, config, options));
    this.running.set(env, next);
    return next;
  }

  /** What an environment's certificate is now, without checking or obtaining anything (null: no HTTPS). */
  status(env: string, config: EnvironmentConfig): CertificateStatus | null {
    const https = config.https;
    if (!https) return null;
    const base = { env, domains: https.domains, httpsPort: https.port, action: 'none' as const };
    if (https.certificate) {
      const certFile = resolve(this.deps.projectDir, https.certificate.cert_file);
      try {
        return { ...base, source: 'files', certificate: describe(certFile), reason: 'from files' };
      } catch (error) {
        return { ...base, source: 'files', certificate: null, reason: `${certFile} cannot be read: ${errorMessage(error)}` };
      }
    }
    const current = readJsonOr<Issued | null>(join(this.deps.paths.tlsOf(env), 'current.json'), null);
    return { ...base, source: 'acme', certificate: current ? describe(current.certFile) : null, reason: current ? 'obtained by ACME' : 'no certificate yet: the agent obtains one when it checks (`ferry tls` checks now)' };
  }

  private async syncNow(env: string, config: EnvironmentConfig, options: { renew?: boolean }): Promise<CertificateStatus | null> {
    const https = config.https;
    const route = (await this.deps.router.state()).routes[env];
    if (!https) {
      if (route?.tls) await this.deps.router.setTls(env, config.port, null);
      return null;
    }
    const base = { env, domains: https.domains, httpsPort: https.port };
    if (https.certificate) {
      const certFile = resolve(this.deps.projectDir, https.certificate.cert_file);
      const keyFile = resolve(this.deps.projectDir, https.certificate.key_file);
      checkPair(certFile, keyFile, `https.certificate of ${env}`);
      // The files' modification time is part of what the router caches by: files replaced in place are read again.
      const version = `${statSync(certFile).mtimeMs}:${statSync(keyFile).mtimeMs}`;
      const tls: RouteTls = { port: https.port, certificates: [{ domains: https.domains, certFile, keyFile, version }], redirect: https.redirect };
      const unchanged = JSON.stringify(route?.tls) === JSON.stringify(tls);
      if (!unchanged) await this.push(env, config.port, tls);
      return { ...base, source: 'files', certificate: describe(certFile), action: unchanged ? 'none' : 'loaded', reason: unchanged ? 'the router has these files, unchanged' : 'the router was told to read the files' };
    }
    const acmeSettings = https.acme!;
    const dir = this.deps.paths.tlsOf(env);
    const currentFile = join(dir, 'current.json');
    const current = readJsonOr<Issued | null>(currentFile, null);
    const now = (this.deps.now ?? Date.now)();
    const info = current ? describe(current.certFile) : null;
    const renewBeforeMs = parseDurationMs(acmeSettings.renew_before) ?? 30 * 86_400_000;
    const why = !current ? 'no certificate yet' : current.domains.join() !== https.domains.join() ? 'the domains changed' : Date.parse(info!.notAfter) - now < renewBeforeMs ? `it expires ${info!.notAfter}, within renew_before (${acmeSettings.renew_before})` : options.renew ? 'asked to renew' : undefined;
    const tlsOf = (issued: Issued | null, challenges?: Record<string, string>): RouteTls => ({ port: https.port, certificates: issued ? [{ domains: issued.domains, certFile: issued.certFile, keyFile: issued.keyFile }] : [], redirect: https.redirect, challenges });
    if (!why) {
      const tls = tlsOf(current);
      if (JSON.stringify(route?.tls) !== JSON.stringify(tls)) await this.push(env, config.port, tls);
      return { ...base, source: 'acme', certificate: info, action: 'none', reason: `valid until ${info!.notAfter}` };
    }
    const challenges: Record<string, string> = {};
    const issued = await obtainCertificate({
      directory: acmeSettings.directory,
      email: acmeSettings.email,
      ca: acmeSettings.ca_file ? readFileSync(resolve(this.deps.projectDir, acmeSettings.ca_file), 'utf8') : undefined,
      domains: https.domains,
      accountDir: this.deps.paths.tls,
      challenge: {
        set: async (token, keyAuthorization) => {
          challenges[token] = keyAuthorization;
          await this.push(env, config.port, tlsOf(current, { ...challenges }));
        },
        clear: async (token) => {
          delete challenges[token];
          await this.push(env, config.port, tlsOf(current, { ...challenges }));
        },
      },
    });
    // New names for each certificate: the router tells old from new by them, and open connections keep the old.
    privateDir(dir);
    const serial = new X509Certificate(issued.cert).serialNumber.toLowerCase();
    const next: Issued = { certFile: join(dir, `${serial}.pem`), keyFile: join(dir, `${serial}.key`), domains: https.domains };
    writeFileAtomic(next.keyFile, issued.key, 0o600);
    writeFileAtomic(next.certFile, issued.cert, 0o600);
    writeJsonAtomic(currentFile, next, 0o600);
    await this.push(env, config.port, tlsOf(next));
    // Keep the one before (a connection may still use it); remove older ones.
    const keep = new Set([next.certFile, next.keyFile, current?.certFile, current?.keyFile, currentFile]);
    for (const name of readdirSync(dir)) if (!keep.has(join(dir, name))) rmSync(join(dir, name), { force: true });
    return { ...base, source: 'acme', certificate: describe(next.certFile), action: 'issued', reason: why };
  }

  private async push(env: string, port: number, tls: RouteTls): Promise<void> {
    await this.deps.router.setTls(env, port, tls);
  }
}
