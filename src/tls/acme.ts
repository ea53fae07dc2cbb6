import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { privateDir } from '../shared/file-modes.js';
import { writeFileAtomic } from '../util/fs-atomic.js';
import { errorMessage, FerryError } from '../util/errors.js';

export interface AcmeOrder {
  directory: string;
  email?: string;
  /** PEM of a CA to trust for the ACME server's own HTTPS (a private or test server). */
  ca?: string;
  domains: string[];
  /** Where account keys are kept: one per directory, so a second order reuses the account. */
  accountDir: string;
  /** Puts an HTTP-01 answer where the ACME server will ask for it (the router's HTTP port), and takes it away. */
  challenge: { set(token: string, keyAuthorization: string): Promise<void>; clear(token: string): Promise<void> };
}

/** acme-client (with axios, half a second to load), loaded when a certificate is wanted, not when the agent starts. */
const loadAcme = async () => (await import('acme-client')).default;

/** The account key of a directory, made once and kept (0600). */
async function accountKey(order: AcmeOrder): Promise<Buffer> {
  const acme = await loadAcme();
  privateDir(order.accountDir);
  const file = join(order.accountDir, `account-${createHash('sha256').update(order.directory).digest('hex').slice(0, 12)}.key`);
  if (existsSync(file)) return readFileSync(file);
  const key = await acme.crypto.createPrivateEcdsaKey();
  writeFileAtomic(file, key.toString(), 0o600);
  return key;
}

/**
 * Obtains a certificate for the domains from an ACME server with HTTP-01 (RFC 8555), with acme-client: an
 * account (kept), an order, each domain's challenge answered through `challenge`, a CSR for a new key.
 * The ACME server checks the challenges itself; ferry does not first fetch them through public DNS (a server
 * behind NAT often cannot reach its own public address).
 */
export async function obtainCertificate(order: AcmeOrder): Promise<{ cert: string; key: string }> {
  const acme = await loadAcme();
  // acme-client speaks through axios: a private CA is trusted for this server only.
  if (order.ca) acme.axios.defaults.httpsAgent = new https.Agent({ ca: order.ca });
  const client = new acme.Client({ directoryUrl: order.directory, accountKey: await accountKey(order) });
  const [key, csr] = await acme.crypto.createCsr({ commonName: order.domains[0], altNames: order.domains }, await acme.crypto.createPrivateEcdsaKey());
  try {
    const cert = await client.auto({
      csr,
      email: order.email,
      termsOfServiceAgreed: true,
      challengePriority: ['http-01'],
      skipChallengeVerification: true,
      challengeCreateFn: async (_authz, challenge, keyAuthorization) => order.challenge.set(challenge.token, keyAuthorization),
      challengeRemoveFn: async (_authz, challenge) => order.challenge.clear(challenge.token),
    });
    return { cert, key: key.toString() };
  } catch (error) {
    throw new FerryError({
      code: 'ACME_FAILED',
      message: `the ACME server at ${order.directory} did not issue a certificate for ${order.domains.join(', ')}: ${errorMessage(error)}`,
      hint: 'Each domain must resolve to this server, and its HTTP port (port: of the environment, as 80 from outside) must reach the router.',
    });
  } finally {
    if (order.ca) acme.axios.defaults.httpsAgent = undefined;
  }
}
