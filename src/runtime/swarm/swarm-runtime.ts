import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import type { RouterClient } from '../../router/client.js';
import type { InstanceSpec } from '../../router/state.js';
import { FerryError } from '../../util/errors.js';
import { sleep } from '../../util/sleep.js';
import type { InstanceInfo, Runtime, StopOptions } from '../runtime.js';
import { LABEL, containerEnv } from '../docker/docker-runtime.js';
import { logLines } from '../docker/log-stream.js';

const FINISHED = new Set(['complete', 'failed', 'shutdown', 'rejected', 'orphaned', 'remove']);

interface Task {
  CreatedAt?: string;
  Status: { State: string; Err?: string; ContainerStatus?: { ExitCode?: number } };
}

/**
 * Instances as Swarm services of one replica each, so that ferry keeps its own blue-green (health gate,
 * warm previous release, watch window, switch back) while Swarm schedules and restarts the tasks.
 * Ports are published in host mode (the ingress mesh needs IPVS, which this kernel lacks); on one node
 * the router reaches them on 127.0.0.1.
 */
export class SwarmRuntime implements Runtime {
  readonly name = 'swarm';
  constructor(private readonly docker: Docker, private readonly router: RouterClient) {}

  async start(spec: InstanceSpec): Promise<InstanceInfo> {
    const image = spec.docker;
    if (!image) throw new Error(`instance ${spec.id} has no image to run`);
    const labels = { ...image.labels, [LABEL.instance]: spec.id };
    let service: { id: string };
    try {
      service = await this.docker.createService({
        Name: `ferry-${image.labels[LABEL.app] ?? 'app'}-${spec.id}-${randomBytes(3).toString('hex')}`,
        Labels: labels,
        TaskTemplate: {
          ContainerSpec: {
            Image: image.image,
            Env: containerEnv(spec, image.containerPort),
            Labels: labels,
            StopGracePeriod: (image.stopGraceMs ?? 10_000) * 1e6,
            Init: true,
          },
          Resources: { Limits: { MemoryBytes: image.memoryBytes, NanoCPUs: image.nanoCpus } },
          RestartPolicy: { Condition: 'on-failure', Delay: 1e9, MaxAttempts: 3 },
        },
        Mode: { Replicated: { Replicas: 1 } },
        EndpointSpec: { Ports: [{ Protocol: 'tcp', TargetPort: image.containerPort, PublishedPort: spec.port, PublishMode: 'host' }] },
      } as Docker.CreateServiceOptions);
    } catch (error) {
      const message = (error as Error).message;
      throw new FerryError({
        code: 'SWARM_UNAVAILABLE',
        message: `cannot create a Swarm service for ${spec.id}: ${message}`,
        hint: /not a swarm manager/i.test(message) ? 'Run `docker swarm init` (one node) or point DOCKER_HOST at a manager.' : undefined,
      });
    }
    await this.router.registerUpstream({ ...spec, runtime: 'swarm', container: { id: service.id, image: image.image } });
    return { id: spec.id, env: spec.env, release: spec.release, port: spec.port, state: 'running', exitCode: null, signal: null };
  }

  private async serviceId(id: string): Promise<string | undefined> {
    return (await this.router.state()).instances[id]?.container?.id;
  }

  private async tasks(serviceId: string): Promise<Task[]> {
    const tasks = (await this.docker.listTasks({ filters: { service: [serviceId] } }).catch(() => [])) as Task[];
    return tasks.sort((a, b) => String(b.CreatedAt).localeCompare(String(a.CreatedAt)));
  }

  async stop(id: string, options: StopOptions) {
    const serviceId = await this.serviceId(id);
    const drained = await this.router.stopInstance(id, options.drainTimeoutMs, 0);
    const startedAt = Date.now();
    if (!serviceId) return { killed: false, drainMs: drained.drainMs, stopMs: 0 };
    await this.docker.getService(serviceId).remove().catch(() => undefined);
    // Removing a service stops its tasks asynchronously (SIGTERM, SIGKILL after StopGracePeriod): wait for that.
    const deadline = Date.now() + options.graceMs + 10_000;
    while (Date.now() < deadline) {
      const containers = await this.docker.listContainers({ filters: { label: [`com.docker.swarm.service.id=${serviceId}`] } });
      if (containers.length === 0) break;
      await sleep(100);
    }
    return { killed: Date.now() - startedAt > options.graceMs, drainMs: drained.drainMs, stopMs: Date.now() - startedAt };
  }

  async inspect(id: string): Promise<InstanceInfo> {
    const record = (await this.router.state()).instances[id];
    const base = { id, env: record?.env ?? '', release: record?.release ?? '', port: record?.port ?? 0, signal: null };
    if (!record?.container) return { ...base, state: 'missing', exitCode: null };
    const [latest] = await this.tasks(record.container.id);
    if (!latest) return { ...base, state: 'running', exitCode: null };
    // A task that ended is a release that exits (Swarm would restart it, but the health gate must not wait for that).
    if (FINISHED.has(latest.Status.State)) return { ...base, state: 'exited', exitCode: latest.Status.ContainerStatus?.ExitCode ?? null };
    return { ...base, state: 'running', exitCode: null };
  }

  async logs(id: string, lines: number): Promise<string[]> {
    const serviceId = await this.serviceId(id);
    if (!serviceId) return [];
    const service = this.docker.getService(serviceId) as unknown as { logs(options: object): Promise<Buffer> };
    const buffer = await service.logs({ stdout: true, stderr: true, tail: lines, follow: false }).catch(() => Buffer.alloc(0));
    return logLines(buffer);
  }

  async remove(id: string): Promise<void> {
    const serviceId = await this.serviceId(id);
    if (serviceId) await this.docker.getService(serviceId).remove().catch(() => undefined);
    await this.router.forgetInstance(id);
  }
}
