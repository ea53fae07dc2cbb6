import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import type { RouterClient } from '../../router/client.js';
import type { EnvironmentConfig } from '../../config/schema.js';
import type { InstanceRecord, InstanceSpec } from '../../router/state.js';
import { FerryError } from '../../util/errors.js';
import { sleep } from '../../util/sleep.js';
import type { InstanceInfo, LogLine, PrepareOptions, ReleaseTarget, Runtime, StopOptions } from '../runtime.js';
import { containerEnv, containerSettings } from '../docker/docker-runtime.js';
import { registryAuth } from '../docker/image-push.js';
import { LABEL, prepareReleaseImage, removeDanglingImages, removeReleaseImage } from '../docker/release-image.js';
import { followEngineLogs, logLines } from '../docker/log-stream.js';

/** A node's address as the other nodes reach it; managers may report 0.0.0.0 there and the real one in ManagerStatus. */
export function nodeAddress(node: { Status?: { Addr?: string }; ManagerStatus?: { Addr?: string } }): string {
  const addr = node.Status?.Addr;
  if (addr && addr !== '0.0.0.0') return addr;
  const manager = node.ManagerStatus?.Addr?.replace(/:\d+$/, '');
  return manager && manager !== '0.0.0.0' ? manager : '127.0.0.1';
}

const FINISHED = new Set(['complete', 'failed', 'shutdown', 'rejected', 'orphaned', 'remove']);

interface Task {
  CreatedAt?: string;
  NodeID?: string;
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
  constructor(private readonly docker: Docker, private readonly router: RouterClient, private readonly placementTimeoutMs = 30_000) {}

  needsPrepare(): boolean {
    return true;
  }

  prepare(target: ReleaseTarget, options: PrepareOptions): Promise<string> {
    return prepareReleaseImage(this.docker, target, options);
  }

  /** Removes the services (Swarm stops their tasks); the instances stay routed, and the next start brings the release back. */
  async stopAll(instances: InstanceRecord[]): Promise<void> {
    await Promise.all(instances.map((instance) => (instance.container ? this.docker.getService(instance.container.id).remove().catch(() => undefined) : undefined)));
  }

  removeRelease(app: string, releaseId: string, config: EnvironmentConfig): Promise<void> {
    return removeReleaseImage(this.docker, app, releaseId, config);
  }

  async start(spec: InstanceSpec, target: ReleaseTarget): Promise<InstanceInfo> {
    const image = containerSettings(target);
    // Credentials the nodes pull the image with: sent with the service, never stored by ferry.
    const auth = registryAuth(target.config.registry, target.secrets);
    const labels = { ...image.labels, [LABEL.instance]: spec.id };
    let service: { id: string };
    try {
      service = await this.docker.createService(auth as Docker.AuthConfig, {
        Name: `ferry-${image.labels[LABEL.app] ?? 'app'}-${spec.id}-${randomBytes(3).toString('hex')}`,
        Labels: labels,
        TaskTemplate: {
          ContainerSpec: {
            Image: image.image,
            Env: containerEnv(spec, image.containerPort),
            Labels: labels,
            StopGracePeriod: (image.stopGraceMs ?? 10_000) * 1e6,
            Init: true,
            Mounts: image.mounts.map((m) => ({ Type: m.type, Source: m.source, Target: m.target, ReadOnly: m.readOnly })),
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
    const host = await this.placedOn(service.id, spec.id);
    await this.router.registerUpstream({ ...spec, host, runtime: 'swarm', container: { id: service.id, image: image.image } });
    return { id: spec.id, env: spec.env, release: spec.release, port: spec.port, host, state: 'running', exitCode: null, signal: null };
  }

  /**
   * The address of the node Swarm placed the service's task on: the router and the health gate reach the
   * task's host-mode port there (127.0.0.1 on a one-node swarm advertised on loopback).
   */
  private async placedOn(serviceId: string, instanceId: string): Promise<string> {
    const deadline = Date.now() + this.placementTimeoutMs;
    while (Date.now() < deadline) {
      const [task] = await this.tasks(serviceId);
      if (task?.NodeID) return nodeAddress(await this.docker.getNode(task.NodeID).inspect());
      await sleep(100);
    }
    throw new FerryError({
      code: 'SWARM_UNPLACED',
      message: `Swarm did not place the task of ${instanceId} on a node within ${this.placementTimeoutMs}ms`,
      hint: 'Check `docker service ps` for the service: no node may satisfy its resources or have its port free.',
    });
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

  async logs(id: string, lines: number): Promise<LogLine[]> {
    const serviceId = await this.serviceId(id);
    if (!serviceId) return [];
    const service = this.docker.getService(serviceId) as unknown as { logs(options: object): Promise<Buffer> };
    const buffer = await service.logs({ stdout: true, stderr: true, tail: lines, timestamps: true, follow: false }).catch(() => Buffer.alloc(0));
    return logLines(buffer);
  }

  async followLogs(id: string, lines: number, signal: AbortSignal, onLine: (line: LogLine) => void): Promise<void> {
    const serviceId = await this.serviceId(id);
    if (!serviceId) return;
    const service = this.docker.getService(serviceId) as unknown as { logs(options: object): Promise<NodeJS.ReadableStream> };
    const stream = await service.logs({ stdout: true, stderr: true, tail: lines, timestamps: true, follow: true }).catch(() => undefined);
    if (stream) await followEngineLogs(this.docker, stream, signal, onLine);
  }

  async removeLeftovers(app: string): Promise<string | undefined> {
    const images = await removeDanglingImages(this.docker, app);
    return images ? `${images} dangling image(s) of ${app} no release uses` : undefined;
  }

  async remove(id: string): Promise<void> {
    const serviceId = await this.serviceId(id);
    if (serviceId) await this.docker.getService(serviceId).remove().catch(() => undefined);
    await this.router.forgetInstance(id);
  }
}
