import { releaseLayout, writeSecretsFile } from '../release-files.js';
import type { Step } from '../step.js';

/** Writes the secrets the environment declares, and only those, to the release's .env (0600). Values never reach logs or history. */
export const secrets: Step = {
  name: 'secrets',
  async run(ctx) {
    const names = ctx.config.secrets;
    writeSecretsFile(releaseLayout(ctx.release!.dir).envFile, Object.fromEntries(names.map((name) => [name, ctx.request.secrets[name]])));
    return `.env (0600) with ${names.length ? names.join(', ') : 'no secrets'}`;
  },
};
