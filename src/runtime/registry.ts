import { createRequire } from 'node:module';
import type Docker from 'dockerode';
import type { RouterClient } from '../router/client.js';
import { ProcessRuntime } from './process/process-runtime.js';
import { DockerRuntime } from './docker/docker-runtime.js';
import { SwarmRuntime } from './swarm/swarm-runtime.js';
import type { Runtime, RuntimeName } from './runtime.js';

export type { RuntimeName } from './runtime.js';

/**
 * The runtimes of one agent. The Docker client is made on first use, and dockerode (a quarter of a second to
 * load, with its gRPC and SSH modules) is loaded then too: an agent that runs only processes never loads it.
 */
export interface Runtimes {
  get(name: RuntimeName): Runtime;
  /** The runtime that runs an instance record (router records say which; absent means process). */
  of(record: { runtime?: RuntimeName }): Runtime;
}

export function createRuntimes(router: RouterClient, dockerOptions?: Docker.DockerOptions): Runtimes {
  const processRuntime = new ProcessRuntime(router);
  let client: Docker | undefined;
  let dockerRuntime: DockerRuntime | undefined;
  let swarmRuntime: SwarmRuntime | undefined;
  const docker = () => (client ??= new (createRequire(import.meta.url)('dockerode') as typeof Docker)(dockerOptions));
  const get = (name: RuntimeName): Runtime => {
    if (name === 'docker') return (dockerRuntime ??= new DockerRuntime(docker(), router));
    if (name === 'swarm') return (swarmRuntime ??= new SwarmRuntime(docker(), router));
    return processRuntime;
  };
  return { get, of: (record) => get(record.runtime ?? 'process') };
}
