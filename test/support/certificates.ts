import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });

/** A throwaway certificate authority in `dir` (ca.pem, ca.key), for tests only. */
export function testAuthority(dir: string): { caFile: string } {
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=ferry test CA'], dir);
  return { caFile: join(dir, 'ca.pem') };
}

/** A certificate for `domains`, signed by the test authority in `dir`: `<name>.pem` and `<name>.key`. */
export function testCertificate(dir: string, name: string, domains: string[]): { certFile: string; keyFile: string } {
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${domains[0]}`], dir);
  writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${domains.map((d) => `DNS:${d}`).join(',')}\n`);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`], dir);
  return { certFile: join(dir, `${name}.pem`), keyFile: join(dir, `${name}.key`) };
}
