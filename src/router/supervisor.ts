import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, closeSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { isProcessAlive, sleep } from '../util/sleep.js';
import { readEnvFile } from './env-file.js';
import { instanceBaseEnv } from '../runtime/base-env.js';
import { healthGate } from '../health/gate.js';
import { probeHttp } from '../health/probe.js';
import type { InstanceRecord, InstanceSpec } from './state.js';

export interface SupervisorOptions {
  now?: () => number;
  /** How often adopted (not our children) instances are checked for liveness. */
  pollIntervalMs?: number;
  /** A routed instance that crashes is restarted at once; if it crashes again within a minute, after this delay, doubling up to maxRestartDelayMs. */
  restartDelayMs?: number;
  maxRestartDelayMs?: number;
  onChange: () => void;
  isRouted: (id: string) => boolean;
  log: (message: string, fields?: Record<string, unknown>) => void;
}

export interface StopResult {
  exitCode: number | null;
  signal: string | null;
  killed: boolean;
  stopMs: number;
}

const isSupervised = (record: InstanceRecord) => (record.runtime ?? 'process') === 'process';

/** True when pid is still the instance we started (guards against pid reuse after a router restart). */
function isOurInstance(pid: number, id: string): boolean {
  if (!isProcessAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`FERRY_INSTANCE_ID=${id}`);
  } catch {
    return process.platform !== 'linux';
  }
}

/** Starts instances as detached process groups that outlive the router, and watches them. */
export class Supervisor {
  private readonly children = new Map<string, ChildProcess>();
  private readonly exitWaiters = new Map<string, Array<() => void>>();
  private poller?: NodeJS.Timeout;
  /** Closed: this router handed over or is stopping; nothing it sees changes the state any more. */
  private closed = false;

  constructor(readonly instances: Record<string, InstanceRecord>, private readonly options: SupervisorOptions) {}

  /**
   * Starts an instance. `gate`: the router restarts it itself (a crash, or the router's own start), so it
   * stays `starting`, receiving no traffic, until its health check passes.
   */
  start(spec: InstanceSpec, restarts = 0, options: { gate?: boolean } = {}): InstanceRecord {
    mkdirSync(dirname(spec.logFile), { recursive: true, mode: 0o700 });
    const logFd = openSync(spec.logFile, 'a', 0o600);
    const base = instanceBaseEnv();
    const child = spawn('/bin/sh', ['-c', `exec ${spec.command}`], {
      cwd: spec.cwd,
      // Exactly the documented base and this release's own variables: nothing of the router's (or a deploying shell's) environment.
      // node_modules/.bin comes first on PATH, as under `npm start`: a start command may name a dependency's bin.
      env: {
        ...base,
        PATH: `${join(spec.cwd, 'node_modules', '.bin')}${delimiter}${base.PATH ?? ''}`,
        ...(spec.user ? { HOME: spec.user.home, USER: spec.user.name, LOGNAME: spec.user.name } : {}),
        ...readEnvFile(spec.envFile),
        ...spec.vars,
        PORT: String(spec.port),
        HOST: '127.0.0.1',
        FERRY_INSTANCE_ID: spec.id,
        FERRY_RELEASE: spec.release,
        FERRY_ENV: spec.env,
      },
      ...(spec.user ? { uid: spec.user.uid, gid: spec.user.gid } : {}),
      detached: true,
      stdio: ['ignore', logFd, logFd],
    });
    closeSync(logFd);
    child.unref();
    const gated = Boolean(options.gate && spec.health);
    const record: InstanceRecord = { ...spec, pid: child.pid ?? -1, state: gated ? 'starting' : 'running', startedAt: (this.options.now ?? Date.now)(), restarts, exitCode: null, signal: null };
    this.instances[spec.id] = record;
    this.children.set(spec.id, child);
    child.once('exit', (code, signal) => this.exited(spec.id, code, signal));
    child.once('error', () => this.exited(spec.id, null, null));
    this.options.onChange();
    if (gated) void this.gate(spec.id, record.pid);
    return record;
  }

  /** Health-checks an instance the router restarted; healthy → `running` (routed again), else killed (and restarted with backoff). */
  private async gate(id: string, pid: number): Promise<void> {
    const record = this.instances[id];
    const health = record.health!;
    const current = () => {
      const now = this.instances[id];
      return now && now.pid === pid && now.state === 'starting' ? now : undefined;
    };
    const verdict = await healthGate({
      probe: () => probeHttp(record.port, health.path, health.timeoutMs, record.host),
      intervalMs: health.intervalMs,
      healthyThreshold: health.healthyThreshold,
      deadlineMs: health.deadlineMs,
      isGone: async () => (current() ? undefined : 'no longer starting'),
    });
    const now = current();
    if (!now) return;
    if (verdict.healthy) {
      now.state = 'running';
      this.options.log('restarted instance is healthy', { id, pid, ms: verdict.elapsedMs });
      this.options.onChange();
    } else {
      this.options.log('restarted instance failed its health check; killing it', { id, pid, reason: verdict.reason });
      signalGroup(pid, 'SIGKILL');
    }
  }

  /**
   * Re-adopts instances a previous router started. Routed instances that are gone (ferry was stopped, a
   * crash, a reboot) start again at once and are routed again once healthy. Returns the ids found gone.
   */
  adopt(): string[] {
    const gone: string[] = [];
    for (const record of Object.values(this.instances)) {
      if (!isSupervised(record)) continue;
      if (record.state !== 'exited' && isOurInstance(record.pid, record.id)) {
        if (record.state === 'starting') void this.gate(record.id, record.pid);
        continue;
      }
      record.state = 'exited';
      gone.push(record.id);
    }
    this.poller = setInterval(() => this.pollAdopted(), this.options.pollIntervalMs ?? 500);
    this.poller.unref();
    this.options.onChange();
    for (const id of gone) this.restartIfRouted(id);
    return gone.filter((id) => this.options.isRouted(id));
  }

  private pollAdopted(): void {
    for (const record of Object.values(this.instances)) {
      if (record.state !== 'exited' && isSupervised(record) && !this.children.has(record.id) && !isOurInstance(record.pid, record.id)) {
        this.exited(record.id, null, null);
      }
    }
  }

  private exited(id: string, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.closed) return;
    const record = this.instances[id];
    this.children.delete(id);
    if (!record || record.state === 'exited') return;
    const wasStopping = record.state === 'stopping';
    record.state = 'exited';
    record.exitCode = code;
    record.signal = signal;
    this.options.log('instance exited', { id, pid: record.pid, code, signal, expected: wasStopping });
    this.options.onChange();
    for (const resolve of this.exitWaiters.get(id) ?? []) resolve();
    this.exitWaiters.delete(id);
    if (!wasStopping) this.restartIfRouted(id);
  }

  private restartIfRouted(id: string): void {
    const record = this.instances[id];
    if (!record || !this.options.isRouted(id)) return;
    // A crash after a healthy minute restarts at once; a crash loop backs off.
    const now = (this.options.now ?? Date.now)();
    const recentCrashes = now - record.startedAt < 60_000 ? (record.crashStreak ?? 0) : 0;
    const delayMs = recentCrashes === 0 ? 0 : Math.min((this.options.restartDelayMs ?? 500) * 2 ** (recentCrashes - 1), this.options.maxRestartDelayMs ?? 30_000);
    this.options.log('restarting routed instance', { id, delayMs, restarts: record.restarts + 1 });
    setTimeout(() => {
      const current = this.instances[id];
      if (current && current.state === 'exited' && this.options.isRouted(id)) this.start({ ...current, crashStreak: recentCrashes + 1 } as InstanceSpec, current.restarts + 1, { gate: true });
    }, delayMs).unref();
  }

  private waitForExit(id: string, timeoutMs: number): Promise<boolean> {
    const record = this.instances[id];
    if (!record || record.state === 'exited') return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.exitWaiters.set(id, [...(this.exitWaiters.get(id) ?? []), done]);
      if (!this.children.has(id)) void this.pollUntilExit(id, timeoutMs).then((exited) => exited && done());
    });
  }

  private async pollUntilExit(id: string, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    const record = this.instances[id];
    while (Date.now() < deadline) {
      if (!isOurInstance(record.pid, record.id)) {
        this.exited(id, null, null);
        return true;
      }
      await sleep(50);
    }
    return false;
  }

  /** SIGTERM to the instance's process group, then SIGKILL after graceMs. */
  async stop(id: string, graceMs: number): Promise<StopResult> {
    const record = this.instances[id];
    const startedAt = Date.now();
    if (!record || record.state === 'exited') {
      return { exitCode: record?.exitCode ?? null, signal: record?.signal ?? null, killed: false, stopMs: 0 };
    }
    if (!isSupervised(record)) {
      // Another runtime stops it (the docker runtime stops its container); the router only stops routing to it.
      record.state = 'exited';
      this.options.onChange();
      return { exitCode: null, signal: null, killed: false, stopMs: 0 };
    }
    record.state = 'stopping';
    this.options.onChange();
    signalGroup(record.pid, 'SIGTERM');
    let killed = false;
    if (!(await this.waitForExit(id, graceMs))) {
      killed = true;
      signalGroup(record.pid, 'SIGKILL');
      await this.waitForExit(id, 5000);
    }
    return { exitCode: record.exitCode, signal: record.signal, killed, stopMs: Date.now() - startedAt };
  }

  forget(id: string): void {
    delete this.instances[id];
    this.options.onChange();
  }

  close(): void {
    this.closed = true;
    if (this.poller) clearInterval(this.poller);
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}
