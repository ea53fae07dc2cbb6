import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import type { ClientRequest, ConnectionHandlers } from './client-connection.js';
import type { RouteTls } from './state.js';

const CHALLENGE_PREFIX = '/.well-known/acme-challenge/';

/** An environment's TLS contexts: one per certificate, picked by the name the client asks for (SNI). */
export interface Contexts {
  fallback: tls.SecureContext;
  pick(name: string): tls.SecureContext;
}

const matches = (pattern: string, name: string) => pattern === name || (pattern.startsWith('*.') && name.endsWith(pattern.slice(1)) && !name.slice(0, -pattern.length + 1).includes('.'));

/**
 * The certificates of each environment, read from their files once per set: a renewal names new files, so
 * new connections get the new certificate while open ones keep theirs (nothing is dropped).
 */
export class CertificateCache {
  private readonly cached = new Map<string, { key: string; contexts: Contexts | undefined }>();

  of(env: string, settings: RouteTls | undefined): Contexts | undefined {
    if (!settings || settings.certificates.length === 0) return undefined;
    const key = JSON.stringify(settings.certificates);
    const hit = this.cached.get(env);
    if (hit?.key === key) return hit.contexts;
    let contexts: Contexts | undefined;
    try {
      const each = settings.certificates.map((c) => ({ domains: c.domains.map((d) => d.toLowerCase()), context: tls.createSecureContext({ cert: readFileSync(c.certFile), key: readFileSync(c.keyFile), minVersion: 'TLSv1.2' }) }));
      contexts = {
        fallback: each[0].context,
        pick: (name) => each.find((c) => c.domains.some((d) => matches(d, name.toLowerCase())))?.context ?? each[0].context,
      };
    } catch (error) {
      // Unreadable or mismatched files: keep serving the previous certificates, if any.
      process.emitWarning(`ferry router: the certificates of ${env} could not be loaded: ${error instanceof Error ? error.message : String(error)}`);
      contexts = hit?.contexts;
    }
    this.cached.set(env, { key, contexts });
    return contexts;
  }
}

function hostOf(request: ClientRequest): string | undefined {
  const field = request.head.headers.find(([name]) => name.length === 4 && name.toLowerCase() === 'host')?.[1];
  return field?.replace(/:\d+$/, '').toLowerCase();
}

/**
 * An environment's HTTP listener once it has HTTPS: ACME HTTP-01 challenges are answered here, and a request
 * naming one of its domains is redirected (308) to https://; anything else (a health probe to 127.0.0.1)
 * goes to the proxy as before.
 */
export function httpFront(env: string, settings: () => RouteTls | undefined, proxy: ConnectionHandlers): ConnectionHandlers {
  return {
    request(request) {
      const tlsSettings = settings();
      if (tlsSettings) {
        const target = request.head.target;
        if (target.startsWith(CHALLENGE_PREFIX)) {
          const answer = tlsSettings.challenges?.[target.slice(CHALLENGE_PREFIX.length)];
          return answer ? request.answer(200, answer) : request.answer(404, `ferry router: no ACME challenge of that token for ${env}\n`);
        }
        const host = hostOf(request);
        if (tlsSettings.redirect && host && tlsSettings.certificates.some((c) => c.domains.some((d) => matches(d.toLowerCase(), host)))) {
          const port = tlsSettings.port === 443 ? '' : `:${tlsSettings.port}`;
          return request.answer(308, '', `location: https://${host}${port}${target.startsWith('/') ? target : '/'}\r\n`);
        }
      }
      proxy.request(request);
    },
    tunnel: (request, socket, leftover) => proxy.tunnel(request, socket, leftover),
  };
}
