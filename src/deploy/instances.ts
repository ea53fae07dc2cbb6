import type { EnvironmentConfig } from '../config/schema.js';
import type { InstanceInfo, ReleaseTarget, Runtime, StopOutcome } from '../runtime/runtime.js';
import type { InstanceHealth, InstanceSpec, UpstreamTimeouts } from '../router/state.js';
import type { StatePaths } from '../state/paths.js';
import { healthGate, type GateVerdict } from '../health/gate.js';
import { probeHttp, type ProbeResult } from '../health/probe.js';
import { parseDurationMs } from '../util/duration.js';
import { freePort } from '../util/ports.js';
import { releaseLayout } from './release-files.js';
import type { ReleaseRecord } from '../store/records.js';
import type { RouterClient } from '../router/client.js';
import type { Runtimes } from '../runtime/registry.js';

export const ms = (duration: string) => parseDurationMs(duration)!;

/** How the router checks an instance it restarts itself, from the environment's health settings. */
export function instanceHealth(config: EnvironmentConfig): InstanceHealth {
  const health = config.health;
  return { path: health.path, intervalMs: ms(health.interval), timeoutMs: ms(health.timeout), healthyThreshold: health.healthy_threshold, deadlineMs: ms(health.deadline) };
}

/** The router's upstream timeouts of an environment. */
export function upstreamTimeouts(config: EnvironmentConfig): UpstreamTimeouts {
  return { connectMs: ms(config.proxy.connect_timeout), responseHeaderMs: ms(config.proxy.response_timeout) };
}

/** Specs for `replicas` new instances of one release, each on a fresh loopback port; `tag` tells them from earlier instances (d<deployment>). */
export async function instanceSpecs(input: { env: string; release: ReleaseRecord; tag: string; config: EnvironmentConfig; paths: StatePaths }): Promise<InstanceSpec[]> {
  const { config, release } = input;
  const layout = releaseLayout(release.dir);
  const specs: InstanceSpec[] = [];
  for (let index = 1; index <= config.replicas; index++) {
    const id = `${input.env}-${release.id}-${input.tag}-${index}`;
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
      runtime: config.runtime,
      health: instanceHealth(config),
    });
  }
  return specs;
}

/** Starts the instances of a release; each spec learns where it listens. */
export async function startInstances(runtime: Runtime, specs: InstanceSpec[], target: ReleaseTarget): Promise<void> {
  for (const spec of specs) spec.host = (await runtime.start(spec, target)).host;
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

/** What a stop did, honestly: a drain that timed out says so and how many requests it cut. */
export function describeStop(id: string, result: StopOutcome): string {
  const drained = result.abandonedRequests ? `drain timed out after ${result.drainMs}ms with ${result.abandonedRequests} request(s) open (cut by the stop)` : `drained in ${result.drainMs}ms`;
  const upgraded = result.upgraded ? `; ${result.upgraded} upgraded connection(s) (WebSocket) left to the app's own shutdown` : '';
  return `${id} ${drained}${upgraded}, stopped in ${result.stopMs}ms${result.killed ? ' (SIGKILL after grace)' : ''}`;
}

/** Drains and stops instances at once, each by the runtime that runs it; says how each went. */
export async function stopInstances(deps: { router: RouterClient; runtimes: Runtimes }, ids: string[], config: EnvironmentConfig, onProgress?: (message: string) => void): Promise<string[]> {
  const graceMs = ms(config.stop_grace);
  const snapshot = await deps.router.state();
  return Promise.all(
    ids.map(async (id) => {
      const result = await deps.runtimes.of(snapshot.instances[id] ?? {}).stop(id, { drainTimeoutMs: ms(config.drain), graceMs, onProgress });
      return describeStop(id, result);
    }),
  );
}
