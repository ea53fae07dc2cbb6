import type Docker from 'dockerode';
import type { RegistryConfig } from '../../config/schema.js';
import { FerryError } from '../../util/errors.js';
import { engineUnreachableError, followEngineStream, isEngineUnreachable } from './engine.js';

export interface RegistryAuth {
  username: string;
  password: string;
  serveraddress: string;
}

/** The image reference a release runs from: `<app>:<release>`, or `<server>/<app>:<release>` with a registry. */
export const imageRef = (app: string, release: string, registry?: RegistryConfig) => `${registry ? `${registry.server}/` : ''}${app}:${release}`;

/** The registry's server name alone (auth is per host, not per path). */
const registryHost = (server: string) => server.split('/')[0];

export function registryAuth(registry: RegistryConfig | undefined, secrets: Record<string, string>): RegistryAuth | undefined {
  if (!registry?.username) return undefined;
  const password = registry.password_env ? secrets[registry.password_env] : undefined;
  if (password === undefined) {
    throw new FerryError({
      code: 'SECRET_MISSING',
      message: `the registry ${registry.server} needs a password for ${registry.username}, and ${registry.password_env ?? 'registry.password_env'} is not set in the deploying shell`,
      hint: registry.password_env ? `export ${registry.password_env}=... and deploy again.` : 'Set registry.password_env in ferry.yml to the name of the variable holding the password.',
    });
  }
  return { username: registry.username, password, serveraddress: registryHost(registry.server) };
}

/** Tags the built image for the registry and pushes it, streaming one line per layer state; a failure shows the last lines. */
export async function pushImage(docker: Docker, push: { localTag: string; ref: string; auth?: RegistryAuth; timeoutMs: number; onLine: (line: string) => void }): Promise<void> {
  const [repo, tag] = [push.ref.slice(0, push.ref.lastIndexOf(':')), push.ref.slice(push.ref.lastIndexOf(':') + 1)];
  const lines: string[] = [];
  const fail = (reason: string) =>
    new FerryError({
      code: 'IMAGE_PUSH_FAILED',
      message: `docker push of ${push.ref} failed: ${reason}${lines.length ? `; last lines:\n${lines.slice(-10).join('\n')}` : ''}`,
      hint: 'Check that the registry is reachable from this host (`curl https://<server>/v2/`), that the credentials can push, and that a plain-HTTP registry is listed in the engine\'s insecure-registries.',
    });
  let stream: NodeJS.ReadableStream;
  try {
    await docker.getImage(push.localTag).tag({ repo, tag });
    stream = await docker.getImage(repo).push({ tag, authconfig: push.auth ?? {} });
  } catch (error) {
    if (isEngineUnreachable(error)) throw engineUnreachableError(docker, `pushing ${push.ref}`, error);
    throw fail((error as Error).message);
  }
  const failure = await followEngineStream(docker, stream, push.timeoutMs, (event) => {
    const line = event.error ?? (event.status && event.status !== 'Pushing' ? `${event.id ? `${event.id}: ` : ''}${event.status}` : undefined);
    if (!line) return;
    lines.push(line);
    push.onLine(line);
  });
  if (failure?.connectionLost) throw engineUnreachableError(docker, `pushing ${push.ref}`, new Error(failure.reason));
  if (failure) throw fail(failure.reason);
}
