import type { EnvironmentConfig } from '../config/schema.js';
import type { InstanceInfo, Runtime } from '../runtime/runtime.js';
import type { InstanceHealth, InstanceSpec, UpstreamTimeouts } from '../router/state.js';
import type { StatePaths } from '../state/paths.js';
import { healthGate, type GateVerdict } from '../health/gate.js';
import { probeHttp, type ProbeResult } from '../health/probe.js';
import { parseDurationMs } from '../util/duration.js';
import { freePort } from '../util/ports.js';
import { releaseLayout } from './release-files.js';
import type { ReleaseRecord } from '../store/records.js';
import { LABEL } from '../runtime/docker/docker-runtime.js';
import { parseMemoryBytes } from '../runtime/docker/log-stream.js';
import { imageRef } from '../runtime/docker/image-push.js';

export const ms = (duration: string) => parseDurationMs(duration)!;


/** Labels that let ferry tell its own images and containers from anyone else's. */
export function releaseLabels(app: string, env: string, release: ReleaseRecord): Record<string, string> {
  return { [LABEL.app]: app, [LABEL.env]: env, [LABEL.release]: release.id, [LABEL.commit]: release.commit };
}

/** How the router checks an instance it restarts itself, from the environment's health settings. */
export function instanceHealth(config: EnvironmentConfig): InstanceHealth {
  const health = config.health;
  return { path: health.path, intervalMs: ms(health.interval), timeoutMs: ms(health.timeout), healthyThreshold: health.healthy_threshold, deadlineMs: ms(health.deadline) };
}

/** The router's upstream timeouts of an environment. */
export function upstreamTimeouts(config: EnvironmentConfig): UpstreamTimeouts {
  return { connectMs: ms(config.proxy.connect_timeout), responseHeaderMs: ms(config.proxy.response_timeout) };
}

/** Specs for `replicas` new instances of one release, each on a fresh loopback port. */
export async function instanceSpecs(input: { app: string; env: string; release: ReleaseRecord; deploymentId: number; config: EnvironmentConfig; paths: StatePaths }): Promise<InstanceSpec[]> {
  const { config, release } = input;
  const layout = releaseLayout(release.dir);
  const docker =
    config.runtime !== 'process'
      ? {
          image: imageRef(input.app, release.id, config.registry),
          containerPort: config.container_port,
          memoryBytes: parseMemoryBytes(config.resources.memory),
          nanoCpus: config.resources.cpus ? Math.round(config.resources.cpus * 1e9) : undefined,
          labels: releaseLabels(input.app, input.env, release),
          stopGraceMs: parseDurationMs(config.stop_grace),
        }
      : undefined;
  const specs: InstanceSpec[] = [];
  for (let index = 1; index <= config.replicas; index++) {
    const id = `${input.env}-${release.id}-d${input.deploymentId}-${index}`;
    specs.push({
      id,
      env: input.env,
      release: release.id,
      port: await freePort(),
      cwd: layout.app,
      command: config.start ?? '',
      envFile: layout.envFile,
      vars: config.env,
      logFile: input.paths.instanceLog(input.env, id),
      health: instanceHealth(config),
      runtime: config.runtime,
      docker,
    });
  }
  return specs;
}

/** Why an instance ferry did not stop may have exited, from its exit code (128 + signal number). */
function exitCause(info: InstanceInfo): string {
  if (info.oomKilled) return ' (killed for running out of memory: raise resources.memory or find the leak)';
  if (info.exitCode === 143) return ' (SIGTERM from outside ferry: an engine restart such as `systemctl restart docker`, or `docker stop`)';
  if (info.exitCode === 137) return ' (SIGKILL from outside ferry: `docker kill`, or the kernel)';
  return '';
}

export interface InstanceVerdict extends GateVerdict {
  instanceId: string;
}

/** Runs the health gate on every instance at once; healthy only if all are. */
export async function gateInstances(runtime: Runtime, specs: InstanceSpec[], config: EnvironmentConfig, onProbe?: (id: string, probe: ProbeResult) => void): Promise<InstanceVerdict[]> {
  const health = config.health;
  return Promise.all(
    specs.map(async (spec) => {
      const verdict = await healthGate({
        probe: () => probeHttp(spec.port, health.path, ms(health.timeout), spec.host),
        intervalMs: ms(health.interval),
        healthyThreshold: health.healthy_threshold,
        deadlineMs: ms(health.deadline),
        onProbe: (probe) => onProbe?.(spec.id, probe),
        isGone: async () => {
          const info = await runtime.inspect(spec.id);
          if (info.health === 'unhealthy') return 'the container reports unhealthy (its Docker HEALTHCHECK failed)';
          if (info.state !== 'exited' && info.state !== 'missing') return undefined;
          return `instance exited${info.exitCode !== null ? ` with code ${info.exitCode}` : ''}${info.signal ? ` by ${info.signal}` : ''} before it became healthy${exitCause(info)}`;
        },
      });
      return { ...verdict, instanceId: spec.id };
    }),
  );
}
