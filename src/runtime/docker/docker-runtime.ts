import { existsSync } from 'node:fs';
import { FerryError } from '../../util/errors.js';
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import type { EnvironmentConfig } from '../../config/schema.js';
import type { RouterClient } from '../../router/client.js';
import type { InstanceRecord, InstanceSpec } from '../../router/state.js';
import { readEnvFile } from '../../shared/env-file.js';
import { parseDurationMs } from '../../util/duration.js';
import type { InstanceInfo, LogLine, PrepareOptions, ReleaseTarget, Runtime, StopOptions } from '../runtime.js';
import { followEngineLogs, logLines, parseMemoryBytes } from './log-stream.js';
import { engineUnreachableError, isEngineUnreachable, withEngine } from './engine.js';
import { imageRef } from './image-push.js';
import { LABEL, prepareReleaseImage, releaseLabels, removeDanglingImages, removeReleaseImage } from './release-image.js';
import { mountsOf } from '../../config/mounts.js';

/** The environment of a container or Swarm task: the release's .env, the plain variables, and ferry's own. */
export function containerEnv(spec: InstanceSpec, containerPort: number): string[] {
  const env = { ...readEnvFile(spec.envFile), ...spec.vars, PORT: String(containerPort), HOST: '0.0.0.0', FERRY_INSTANCE_ID: spec.id, FERRY_RELEASE: spec.release, FERRY_ENV: spec.env };
  return Object.entries(env).map(([key, value]) => `${key}=${value}`);
}

/** What a container (or Swarm task) of a release runs: its image, port, limits and labels, from the environment's settings. */
export function containerSettings(target: ReleaseTarget) {
  const config = target.config;
  return {
    image: imageRef(target.app, target.release.id, config.registry),
    containerPort: config.container_port,
    memoryBytes: parseMemoryBytes(config.resources.memory),
    nanoCpus: config.resources.cpus ? Math.round(config.resources.cpus * 1e9) : undefined,
    labels: releaseLabels(target),
    stopGraceMs: parseDurationMs(config.stop_grace) ?? 10_000,
    mounts: mountsOf(config.volumes, target.app, target.env),
  };
}

/** Container names are global to an engine: the app and a random suffix keep two projects (or two state dirs) apart. */
const containerName = (app: string, instanceId: string) => `ferry-${app}-${instanceId}-${randomBytes(3).toString('hex')}`;

const statusOf = (error: unknown) => (error as { statusCode?: number }).statusCode;

/**
 * Instances as containers, driven through the Docker Engine API. Ports are published on 127.0.0.1 only;
 * the router routes to them as external upstreams and drains them before the container stops.
 * Healthy containers restart with the engine (unless-stopped, see keepRunning), so an engine restart does
 * not leave the serving release down; stopping and removing wait for an unreachable engine to come back (engineWaitTimeoutMs).
 */
export class DockerRuntime implements Runtime {
  readonly name = 'docker';
  constructor(private readonly docker: Docker, private readonly router: RouterClient, private readonly engineWaitTimeoutMs = 60_000) {}

  needsPrepare(): boolean {
    return true;
  }

  prepare(target: ReleaseTarget, options: PrepareOptions): Promise<string> {
    return prepareReleaseImage(this.docker, target, options);
  }

  async start(spec: InstanceSpec, target: ReleaseTarget): Promise<InstanceInfo> {
    try {
      return await this.create(spec, containerSettings(target));
    } catch (error) {
      throw isEngineUnreachable(error) ? engineUnreachableError(this.docker, `starting ${spec.id}`, error) : error;
    }
  }

  private async create(spec: InstanceSpec, docker: ReturnType<typeof containerSettings>): Promise<InstanceInfo> {
    const containerPort = `${docker.containerPort}/tcp`;
    const container = await this.docker.createContainer({
      name: containerName(docker.labels[LABEL.app] ?? 'app', spec.id),
      Image: docker.image,
      Env: containerEnv(spec, docker.containerPort),
      Labels: { ...docker.labels, [LABEL.instance]: spec.id },
      ExposedPorts: { [containerPort]: {} },
      HostConfig: {
        PortBindings: { [containerPort]: [{ HostIp: '127.0.0.1', HostPort: String(spec.port) }] },
        Memory: docker.memoryBytes,
        NanoCpus: docker.nanoCpus,
        // No restarts while unproven: a crash in the health gate is a verdict. keepRunning() changes it once healthy.
        RestartPolicy: { Name: 'no' },
        Init: true,
        Mounts: docker.mounts.map((m) => ({ Type: m.type, Source: m.source, Target: m.target, ReadOnly: m.readOnly })),
      },
    });
    await container.start();
    await this.router.registerUpstream({ ...spec, runtime: 'docker', container: { id: container.id, image: docker.image } });
    return { id: spec.id, env: spec.env, release: spec.release, port: spec.port, state: 'running', exitCode: null, signal: null };
  }

  /** The container behind an instance, as the router's table recorded it. */
  private async container(id: string): Promise<Docker.Container | undefined> {
    const record = (await this.router.state()).instances[id];
    return record?.container ? this.docker.getContainer(record.container.id) : undefined;
  }

  async stop(id: string, options: StopOptions) {
    const container = await this.container(id);
    const drained = await this.router.stopInstance(id, options.drainTimeoutMs, 0);
    const startedAt = Date.now();
    const open = { abandonedRequests: drained.abandonedRequests, upgraded: drained.upgraded };
    if (!container) return { killed: false, drainMs: drained.drainMs, stopMs: 0, ...open };
    const wait = { waitTimeoutMs: this.engineWaitTimeoutMs, onWait: options.onProgress };
    const state = await withEngine(this.docker, `stopping ${id}`, async () => {
      try {
        // First, so that a container ferry stopped never comes back with an engine restart.
        await container.update({ RestartPolicy: { Name: 'no' } });
        await container.stop({ t: Math.ceil(options.graceMs / 1000) });
      } catch (error) {
        // 304: already stopped; 404: already gone.
        if (statusOf(error) !== 304 && statusOf(error) !== 404) throw error;
      }
      return container.inspect().then((info) => info.State, (error) => (statusOf(error) === 404 ? undefined : Promise.reject(error)));
    }, wait);
    return { killed: state?.ExitCode === 137, drainMs: drained.drainMs, stopMs: Date.now() - startedAt, ...open };
  }

  /** Stops the containers (restart policy `no` first, so an engine restart does not bring them back) and leaves them routed. */
  async stopAll(instances: InstanceRecord[], options: { graceMs: number }): Promise<void> {
    await Promise.all(
      instances.map(async (instance) => {
        if (!instance.container) return;
        const container = this.docker.getContainer(instance.container.id);
        await container.update({ RestartPolicy: { Name: 'no' } }).catch(() => undefined);
        await container.stop({ t: Math.ceil(options.graceMs / 1000) }).catch(() => undefined);
      }),
    );
  }

  removeRelease(app: string, releaseId: string, config: EnvironmentConfig): Promise<void> {
    return removeReleaseImage(this.docker, app, releaseId, config);
  }

  async keepRunning(id: string): Promise<void> {
    await (await this.container(id))?.update({ RestartPolicy: { Name: 'unless-stopped' } });
  }

  /** Throws ENGINE_UNREACHABLE when the engine cannot be asked, rather than calling the container gone. */
  async inspect(id: string): Promise<InstanceInfo> {
    const container = await this.container(id);
    const info = await container?.inspect().catch((error) => {
      if (isEngineUnreachable(error)) throw engineUnreachableError(this.docker, `inspecting ${id}`, error);
      return undefined;
    });
    const labels = info?.Config.Labels ?? {};
    const base = { id, env: labels[LABEL.env] ?? '', release: labels[LABEL.release] ?? '', port: 0, signal: null };
    if (!info) return { ...base, state: 'missing', exitCode: null };
    const health = (info.State as { Health?: { Status: string } }).Health?.Status;
    const state = info.State.Running && !info.State.Restarting ? (health === 'unhealthy' ? 'exited' : 'running') : 'exited';
    return { ...base, pid: info.State.Pid, state, exitCode: info.State.Running ? null : info.State.ExitCode, health, oomKilled: info.State.OOMKilled };
  }

  async logs(id: string, lines: number): Promise<LogLine[]> {
    const container = await this.container(id);
    const buffer = container ? await container.logs({ stdout: true, stderr: true, tail: lines, timestamps: true, follow: false }).catch(() => Buffer.alloc(0)) : Buffer.alloc(0);
    return logLines(buffer as unknown as Buffer);
  }

  async followLogs(id: string, lines: number, signal: AbortSignal, onLine: (line: LogLine) => void): Promise<void> {
    const container = await this.container(id);
    const stream = await container?.logs({ stdout: true, stderr: true, tail: lines, timestamps: true, follow: true }).catch(() => undefined);
    if (stream) await followEngineLogs(this.docker, stream, signal, onLine);
  }

  /** The named volumes' mount points on this machine (when the engine is local) and the bind mounts' sources. */
  async dataDirs(target: Pick<ReleaseTarget, 'app' | 'env' | 'config'>): Promise<string[]> {
    const dirs = await Promise.all(
      mountsOf(target.config.volumes, target.app, target.env)
        .filter((m) => !m.readOnly)
        .map(async (m) => (m.type === 'bind' ? m.source : await this.docker.getVolume(m.source).inspect().then((v) => v.Mountpoint, () => undefined))),
    );
    return dirs.filter((dir): dir is string => Boolean(dir) && existsSync(dir!));
  }

  async seedVolume(target: ReleaseTarget, volume: string, fromDir: string): Promise<string> {
    const existing = await this.docker.getVolume(volume).inspect().catch(() => undefined);
    if (!existing) await this.docker.createVolume({ Name: volume, Labels: { [LABEL.app]: target.app, [LABEL.env]: target.env } });
    // The release's own image does the copy (no other image can be assumed), as root, then gives the files to
    // its user; a volume that already holds anything is left alone (checked inside, whoever may read it here).
    const image = containerSettings(target).image;
    const user = (await this.docker.getImage(image).inspect()).Config.User || '0:0';
    const copier = await this.docker.createContainer({
      Image: image,
      User: '0:0',
      Entrypoint: ['/bin/sh', '-c'],
      Cmd: [`if [ -n "$(ls -A /ferry-to)" ]; then echo 'holds data'; exit 0; fi; cp -a /ferry-from/. /ferry-to/ && chown -R ${user} /ferry-to && echo copied`],
      Labels: { [LABEL.app]: target.app, [LABEL.env]: target.env },
      HostConfig: { Mounts: [{ Type: 'bind', Source: fromDir, Target: '/ferry-from', ReadOnly: true }, { Type: 'volume', Source: volume, Target: '/ferry-to' }] },
    });
    try {
      await copier.start();
      const { StatusCode } = (await copier.wait()) as { StatusCode: number };
      const output = (await copier.logs({ stdout: true, stderr: true, tail: 20 })).toString('utf8');
      if (StatusCode !== 0) throw new FerryError({ code: 'STEP_FAILED', message: `copying ${fromDir} into volume ${volume} failed (exit ${StatusCode}): ${output.trim()}` });
      if (output.includes('holds data')) return `volume ${volume} already holds data: left as it is (${fromDir} not copied)`;
    } finally {
      await copier.remove({ force: true }).catch(() => undefined);
    }
    return `${fromDir} copied into volume ${volume} (owned by ${user})`;
  }

  /** Containers of the app that ended and that no instance record names (an interrupted deploy's), and the app's dangling images. */
  async removeLeftovers(app: string, known: Set<string>): Promise<string | undefined> {
    const ended = await this.docker.listContainers({ all: true, filters: { label: [`${LABEL.app}=${app}`], status: ['exited', 'created', 'dead'] } });
    let containers = 0;
    for (const container of ended) {
      const instance = container.Labels[LABEL.instance];
      if (instance && known.has(instance)) continue;
      await this.docker.getContainer(container.Id).remove({ force: true }).then(() => containers++, () => undefined);
    }
    const images = await removeDanglingImages(this.docker, app);
    return containers || images ? `${containers} exited container(s) and ${images} dangling image(s) of ${app} no release uses` : undefined;
  }

  async remove(id: string): Promise<void> {
    const container = await this.container(id);
    if (container) {
      await withEngine(this.docker, `removing ${id}`, () => container.remove({ force: true }).catch((error) => (isEngineUnreachable(error) ? Promise.reject(error) : undefined)), { waitTimeoutMs: this.engineWaitTimeoutMs });
    }
    await this.router.forgetInstance(id);
  }
}
