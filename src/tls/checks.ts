import { setTimeout as delay } from 'node:timers/promises';
import type { FerryConfig } from '../config/schema.js';
import { errorMessage } from '../util/errors.js';
import type { TlsManager } from './manager.js';

/**
 * Checks every environment's HTTPS at once (the router gets its certificates before any deploy), then every
 * checkEveryMs: a certificate due for renewal is obtained, replaced files are loaded. A failure is logged and
 * tried again at the next check; the router keeps the certificate it has.
 */
export function startCertificateChecks(deps: { tls: TlsManager; config: () => FerryConfig; log: (fields: Record<string, unknown>, message: string) => void }, checkEveryMs: number, signal: AbortSignal): Promise<void> {
  return (async () => {
    while (!signal.aborted) {
      const config = deps.config();
      for (const [env, settings] of Object.entries(config.environments)) {
        if (signal.aborted) break;
        try {
          const status = await deps.tls.sync(env, settings);
          if (status && status.action !== 'none') deps.log({ env, action: status.action, reason: status.reason, serial: status.certificate?.serial, notAfter: status.certificate?.notAfter }, 'tls certificate');
        } catch (error) {
          deps.log({ env, error: errorMessage(error) }, 'tls certificate check failed; the router keeps what it has');
        }
      }
      await delay(checkEveryMs, undefined, { signal }).catch(() => undefined);
    }
  })();
}
