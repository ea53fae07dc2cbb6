import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import https from 'node:https';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testAuthority, testCertificate } from '../../test/support/certificates.js';
import { createTestProject, type TestProject } from '../../test/support/project.js';
import { startPebble, type Pebble } from '../../test/support/pebble.js';
import { freePort } from '../util/ports.js';

// HTTPS with certificates from a real ACME server: Let's Encrypt's pebble, on loopback, resolving
// shop.ferry.test to 127.0.0.1 (.ci/run installs it).
const DOMAIN = 'shop.ferry.test';
let project: TestProject;
let pebble: Pebble;
let httpsPort = 0;

function get(agent?: https.Agent, ca?: string): Promise<{ status: number; serial: string; issuer: string; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port: httpsPort, path: '/', servername: DOMAIN, headers: { host: DOMAIN }, agent: agent ?? false, ca, rejectUnauthorized: ca !== undefined }, (res) => {
        const peer = (res.socket as import('node:tls').TLSSocket).getPeerCertificate();
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, serial: peer.serialNumber, issuer: String(peer.issuer?.CN ?? ''), body }));
      })
      .on('error', reject);
  });
}

const ferryTls = async (args: string[]) => {
  const result = await project.ferry(['tls', ...args, '--json']);
  expect(result.code, result.stdout + result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as { environments: Array<{ action: string; reason: string; certificate: { serial: string; issuer: string; names: string[]; notAfter: string; certFile: string } | null }> }).environments[0];
};

beforeAll(async () => {
  project = await createTestProject();
  pebble = await startPebble({ httpPort: project.ports.production });
  httpsPort = await freePort();
  project.writeConfig((config) => {
    config.environments.production.https = { port: httpsPort, domains: [DOMAIN], acme: { directory: pebble.directory, ca_file: pebble.caFile, email: 'ops@ferry.test' } };
  });
  project.commit({}, 'https by ACME');
  const deployed = await project.ferry(['deploy', 'production']);
  expect(deployed.code, deployed.stdout + deployed.stderr).toBe(0);
}, 120_000);
afterAll(async () => {
  await project?.cleanup();
  await pebble?.stop();
});

describe('HTTPS with certificates from ACME (pebble)', () => {
  it('obtains a certificate by HTTP-01 through the router, serves it, and redirects HTTP', async () => {
    const first = await ferryTls(['production']);
    expect(first.certificate?.names).toEqual([DOMAIN]);
    expect(first.certificate?.issuer).toMatch(/Pebble Intermediate/);
    // The key stays private to ferry's user.
    expect(statSync(first.certificate!.certFile.replace(/\.pem$/, '.key')).mode & 0o077).toBe(0);
    // Verified from pebble's root: the router serves the chain the ACME server issued.
    const served = await get(undefined, await pebble.root());
    expect(served.status).toBe(200);
    expect(served.serial.toLowerCase()).toBe(first.certificate!.serial.toLowerCase());
    const redirect = await new Promise<{ status: number; location?: string }>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: project.ports.production, path: '/orders?id=1', headers: { host: DOMAIN }, agent: false }, (res) => {
        res.resume();
        resolve({ status: res.statusCode!, location: res.headers.location });
      }).on('error', reject);
    });
    expect(redirect).toEqual({ status: 308, location: `https://${DOMAIN}:${httpsPort}/orders?id=1` });
    // A probe to 127.0.0.1 (the agent's health and uptime checks) is not redirected.
    expect((await fetch(`http://127.0.0.1:${project.ports.production}/health`)).status).toBe(200);
  });

  it('renews under load with no failed request: new connections get the new certificate, open ones keep theirs', async () => {
    const before = (await ferryTls(['production'])).certificate!;
    const held = new https.Agent({ keepAlive: true, maxSockets: 1 });
    expect((await get(held)).serial.toLowerCase()).toBe(before.serial.toLowerCase());
    const agents = Array.from({ length: 3 }, () => new https.Agent({ keepAlive: true, maxSockets: 1 }));
    let running = true;
    let ok = 0;
    const failures: string[] = [];
    const loops = [...agents, undefined, undefined].map(async (agent) => {
      while (running) {
        try {
          const answer = await get(agent);
          if (answer.status === 200) ok++;
          else failures.push(String(answer.status));
        } catch (error) {
          failures.push((error as Error).message);
        }
      }
    });
    const started = Date.now();
    const renewed = await ferryTls(['production', '--renew']);
    const renewMs = Date.now() - started;
    await new Promise((r) => setTimeout(r, 300));
    running = false;
    await Promise.all(loops);
    console.log(`ACME (pebble): renewed under load in ${renewMs} ms: ${ok} requests, ${failures.length} failed; serial ${before.serial} -> ${renewed.certificate?.serial}`);
    expect(renewed.action).toBe('issued');
    expect(renewed.certificate!.serial).not.toBe(before.serial);
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(20);
    expect((await get()).serial.toLowerCase()).toBe(renewed.certificate!.serial.toLowerCase());
    expect((await get(held)).serial.toLowerCase()).toBe(before.serial.toLowerCase());
    for (const agent of [...agents, held]) agent.destroy();
    // Not due again: a check changes nothing.
    expect((await ferryTls(['production'])).action).toBe('none');
  });

  it('takes a certificate from files instead, refuses a key that is not its own, and loads files replaced in place', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-tls-files-'));
    try {
      testAuthority(dir);
      const own = testCertificate(dir, 'own', [DOMAIN]);
      const other = testCertificate(dir, 'other', [DOMAIN]);
      const useFiles = (certFile: string, keyFile: string) =>
        project.writeConfig((config) => {
          config.environments.production.https = { port: httpsPort, domains: [DOMAIN], certificate: { cert_file: certFile, key_file: keyFile } };
        });
      useFiles(own.certFile, other.keyFile);
      const refused = await project.ferry(['tls', 'production']);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/TLS_FILES_INVALID|the key is not the certificate's/);
      useFiles(own.certFile, own.keyFile);
      const loaded = await ferryTls(['production']);
      expect(loaded.action).toBe('loaded');
      expect((await get()).serial.toLowerCase()).toBe(loaded.certificate!.serial.toLowerCase());
      // Renewed by another tool in place (same file names): the next check loads it.
      copyFileSync(other.certFile, own.certFile);
      copyFileSync(other.keyFile, own.keyFile);
      const replaced = await ferryTls(['production']);
      expect(replaced.action).toBe('loaded');
      expect((await get()).serial.toLowerCase()).toBe(new X509Certificate(readFileSync(other.certFile)).serialNumber.toLowerCase());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
