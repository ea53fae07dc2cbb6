import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/util/ports.js';
import { sleep } from '../../src/util/sleep.js';
import { testAuthority, testCertificate } from './certificates.js';

export interface Pebble {
  /** The ACME directory URL. */
  directory: string;
  /** The CA of pebble's own HTTPS listener (what ferry's `acme.ca_file` names). */
  caFile: string;
  /** The root pebble issues under this run (to check a served certificate's chain). */
  root(): Promise<string>;
  stop(): Promise<void>;
}

function getText(url: string, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    https.get(url, { ca }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: ${res.statusCode} ${body}`))));
    }).on('error', reject);
  });
}

/**
 * Let's Encrypt's test ACME server (Debian's `pebble`) on loopback, with its mock DNS server
 * (`pebble-challtestsrv`) answering every name with 127.0.0.1: an HTTP-01 challenge for any name is fetched
 * from 127.0.0.1:httpPort, where the router listens.
 */
export async function startPebble(options: { httpPort: number }): Promise<Pebble> {
  if (!existsSync('/usr/bin/pebble')) throw new Error("the HTTPS tests need Let's Encrypt's test server: apt-get install pebble");
  const dir = mkdtempSync(join(tmpdir(), 'ferry-pebble-'));
  const { caFile } = testAuthority(dir);
  const listener = testCertificate(dir, 'pebble', ['localhost']);
  const [acmePort, managementPort, dnsPort, challengeManagementPort, tlsPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  writeFileSync(join(dir, 'pebble.json'), JSON.stringify({ pebble: { listenAddress: `127.0.0.1:${acmePort}`, managementListenAddress: `127.0.0.1:${managementPort}`, certificate: listener.certFile, privateKey: listener.keyFile, httpPort: options.httpPort, tlsPort, ocspResponderURL: '', externalAccountBindingRequired: false } }));
  const children: ChildProcess[] = [];
  const start = (file: string, args: string[], env: NodeJS.ProcessEnv = {}) => {
    const child = spawn(file, args, { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (c) => (output += c));
    child.stderr!.on('data', (c) => (output += c));
    children.push(child);
    return () => output;
  };
  start('/usr/bin/pebble-challtestsrv', ['-dns01', `127.0.0.1:${dnsPort}`, '-http01', '', '-https01', '', '-tlsalpn01', '', '-management', `127.0.0.1:${challengeManagementPort}`, '-defaultIPv4', '127.0.0.1', '-defaultIPv6', '']);
  // No sleeps between validation attempts, and no nonces refused on purpose: the test is about ferry, not retries.
  const said = start('/usr/bin/pebble', ['-config', join(dir, 'pebble.json'), '-dnsserver', `127.0.0.1:${dnsPort}`], { PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0' });
  const ca = readFileSync(caFile);
  const directory = `https://localhost:${acmePort}/dir`;
  for (let i = 0; ; i++) {
    try {
      await getText(directory, ca);
      break;
    } catch (error) {
      if (i > 100) throw new Error(`pebble did not start: ${(error as Error).message}\n${said()}`);
      await sleep(100);
    }
  }
  return {
    directory,
    caFile,
    root: () => getText(`https://localhost:${managementPort}/roots/0`, ca),
    async stop() {
      for (const child of children) child.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
