import { environmentOf, loadConfig } from '../config/load.js';
import type { CertificateStatus } from '../tls/manager.js';
import { agentPost, ensureAgent } from '../agent/client.js';
import { progress, type Io } from './output.js';

const days = (iso: string) => Math.floor((Date.parse(iso) - Date.now()) / 86_400_000);

/**
 * `ferry tls [env] [--renew]`: checks each environment's HTTPS now (what the agent does hourly): loads
 * replaced certificate files, obtains an ACME certificate that is due, or every one with --renew; then says
 * what each environment serves.
 */
export async function tls(io: Io, projectDir: string, env: string | undefined, options: { renew: boolean }): Promise<number> {
  const config = loadConfig(projectDir);
  if (env) environmentOf(config, env);
  const say = progress(io);
  const agent = await ensureAgent(projectDir, say);
  if (options.renew) say(`asking ${env ?? 'every environment with https:'} for a new certificate…`);
  const { environments } = await agentPost<{ environments: CertificateStatus[] }>(agent, '/api/tls/check', { env, renew: options.renew });
  if (io.json) {
    io.out(JSON.stringify({ environments }));
    return 0;
  }
  if (environments.length === 0) say(env ? `${env} has no https: in ferry.yml` : 'no environment has https: in ferry.yml');
  for (const status of environments) {
    const certificate = status.certificate;
    io.out(`${status.env}: https on port ${status.httpsPort} for ${status.domains.join(', ')} (${status.source === 'acme' ? 'ACME' : 'files'})`);
    io.out(`  ${status.action === 'none' ? 'unchanged' : status.action}: ${status.reason}`);
    if (certificate) io.out(`  certificate ${certificate.serial} from ${certificate.issuer}; valid until ${certificate.notAfter} (${days(certificate.notAfter)} days)`);
    else io.out('  no certificate');
  }
  return 0;
}
