import type { EnvironmentConfig } from '../config/schema.js';
import type { Runtime } from '../runtime/runtime.js';
import type { InstanceSpec } from '../router/state.js';
import type { StatePaths } from '../agent/paths.js';
import { healthGate, type GateVerdict } from '../health/gate.js';
import { probeHttp, type ProbeResult } from '../health/probe.js';
import { parseDurationMs } from '../util/duration.js';
import { freePort } from '../util/ports.js';
import { releaseLayout } from './release-files.js';

export const ms = (duration: string) => parseDurationMs(duration)!;

/** Specs for `replicas` new instances of one release, each on a fresh loopback port. */
export async function instanceSpecs(input: { env: string; release: string; releaseDir: string; deploymentId: number; config: EnvironmentConfig; paths: StatePaths }): Promise<InstanceSpec[]> {
  const layout = releaseLayout(input.releaseDir);
  const specs: InstanceSpec[] = [];
  for (let index = 1; index <= input.config.replicas; index++) {
    const id = `${input.env}-${input.release}-d${input.deploymentId}-${index}`;
    specs.push({
      id,
      env: input.env,
      release: input.release,
      port: await freePort(),
      cwd: layout.app,
      command: input.config.start,
      envFile: layout.envFile,
      vars: input.config.env,
      logFile: input.paths.instanceLog(input.env, id),
    });
  }
  return specs;
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
        probe: () => probeHttp(spec.port, health.path, ms(health.timeout)),
        intervalMs: ms(health.interval),
        healthyThreshold: health.healthy_threshold,
        deadlineMs: ms(health.deadline),
        onProbe: (probe) => onProbe?.(spec.id, probe),
        isGone: async () => {
          const info = await runtime.inspect(spec.id);
          if (info.state !== 'exited' && info.state !== 'missing') return undefined;
          return `instance exited${info.exitCode !== null ? ` with code ${info.exitCode}` : ''}${info.signal ? ` by ${info.signal}` : ''} before it became healthy`;
        },
      });
      return { ...verdict, instanceId: spec.id };
    }),
  );
}
