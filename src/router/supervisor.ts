import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, closeSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { isProcessAlive, sleep } from '../util/sleep.js';
import { readEnvFile } from '../shared/env-file.js';
import { instanceBaseEnv } from '../shared/process-env.js';
import { healthGate } from '../health/gate.js';
import { probeHttp } from '../health/probe.js';
import type { InstanceRecord, InstanceSpec } from './state.js';
import { belongsTo, instanceOwner, instanceProcesses, isInstanceProcess, listenerOf, type InstanceOwner, type Listener } from './process-tree.js';
import { shellStartScript } from '../shared/shell-command.js';

export interface SupervisorOptions {
  now?: () => number;
  /** How often adopted (not our children) instances are checked for liveness. */
  pollIntervalMs?: number;
  /** A routed instance that crashes is restarted at once; if it crashes again within a minute, after this delay, doubling up to maxRestartDelayMs. */
  restartDelayMs?: number;
  maxRestartDelayMs?: number;
  /** How often a restart whose port another process holds checks whether it is free. */
  portPollIntervalMs?: number;
  /** When an instance's command exits and leaves processes behind (a wrapper's child): how long they get after SIGTERM before SIGKILL. */
  leftoverGraceMs?: number;
  /** This router's FERRY_SCOPE (see instanceScope): with the instance id, what marks a process as one of its instances. */
  scope: string;
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
    // A port another process listens on: the instance could not listen there. A deploy's start fails saying who
    // holds it; a restart waits for the port, `starting`, and status names the holder meanwhile.
    const holder = listenerOf(spec.port);
    if (holder && !this.isOwn(holder, spec)) {
      const held = `port ${spec.port} is taken by pid ${holder.pid} (${holder.command}), which ferry did not start for instance ${spec.id}`;
      this.options.log(`${held}; ${options.gate ? 'waiting for it to be free' : 'not starting it'}`, { id: spec.id, port: spec.port, heldByPid: holder.pid, heldByInstance: holder.marks.id });
      if (!options.gate) throw new Error(`${held}: stop that process (or let ferry stop it, if it is an old instance of this project: \`ferry agent stop\`)`);
      return this.waitForPort(spec, restarts);
    }
    const logFd = openSync(spec.logFile, 'a', 0o600);
    const base = instanceBaseEnv();
    const child = spawn('/bin/sh', ['-c', shellStartScript(spec.command)], {
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
        FERRY_SCOPE: this.options.scope,
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

  /** A restart whose port another process holds: `starting`, receiving no traffic, until the port is free; then started. */
  private waitForPort(spec: InstanceSpec, restarts: number): InstanceRecord {
    const record: InstanceRecord = { ...spec, pid: -1, state: 'starting', startedAt: (this.options.now ?? Date.now)(), restarts, exitCode: null, signal: null };
    this.instances[spec.id] = record;
    this.options.onChange();
    const timer = setInterval(() => {
      if (this.closed || this.instances[spec.id] !== record || record.state !== 'starting') return clearInterval(timer);
      const holder = listenerOf(spec.port);
      if (holder && !this.isOwn(holder, spec)) return;
      clearInterval(timer);
      this.start(spec, restarts, { gate: true });
    }, this.options.portPollIntervalMs ?? 500);
    timer.unref();
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
      now.servingSince = (this.options.now ?? Date.now)();
      this.options.log('restarted instance is healthy', { id, pid, ms: verdict.elapsedMs });
      this.options.onChange();
    } else {
      this.options.log('restarted instance failed its health check; killing it', { id, pid, reason: verdict.reason });
      this.signalTree(now, 'SIGKILL');
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
      if (record.state !== 'exited' && this.isOurInstance(record.pid, record)) {
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
      if (record.state !== 'exited' && isSupervised(record) && !this.children.has(record.id) && !this.isOurInstance(record.pid, record)) {
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

  /**
   * What an exited command left behind (the server a wrapper such as `npm start` or a shell script started,
   * which outlives it and keeps the port): SIGTERM, then SIGKILL after leftoverGraceMs. Returns their pids.
   */
  private async endLeftovers(record: InstanceRecord): Promise<number[]> {
    const left = instanceProcesses(this.owner(record));
    if (left.length === 0) return [];
    this.options.log('the instance command exited and left processes running; ending them before it starts again', { id: record.id, pid: record.pid, left });
    this.signalTree(record, 'SIGTERM');
    if (!(await this.waitForNone(record.id, this.options.leftoverGraceMs ?? 2000))) {
      this.signalTree(record, 'SIGKILL');
      await this.waitForNone(record.id, 2000);
    }
    return left;
  }

  private restartIfRouted(id: string): void {
    const record = this.instances[id];
    if (!record || !this.options.isRouted(id)) return;
    // A crash after a healthy minute restarts at once; a crash loop backs off.
    const now = (this.options.now ?? Date.now)();
    const recentCrashes = now - record.startedAt < 60_000 ? (record.crashStreak ?? 0) : 0;
    const delayMs = recentCrashes === 0 ? 0 : Math.min((this.options.restartDelayMs ?? 500) * 2 ** (recentCrashes - 1), this.options.maxRestartDelayMs ?? 30_000);
    this.options.log('restarting routed instance', { id, delayMs, restarts: record.restarts + 1 });
    // The whole tree goes first: a wrapper's orphaned child would hold the port the restart needs.
    void this.endLeftovers(record).then(() =>
      setTimeout(() => {
        const current = this.instances[id];
        if (!this.closed && current && current.state === 'exited' && this.options.isRouted(id)) this.start({ ...current, crashStreak: recentCrashes + 1 } as InstanceSpec, current.restarts + 1, { gate: true });
      }, delayMs).unref(),
    );
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
      if (!this.isOurInstance(record.pid, record)) {
        this.exited(id, null, null);
        return true;
      }
      await sleep(50);
    }
    return false;
  }

  /** SIGTERM to every process of the instance (its group and whatever carries its id), then SIGKILL to those left after graceMs. */
  async stop(id: string, graceMs: number): Promise<StopResult> {
    const record = this.instances[id];
    const startedAt = Date.now();
    if (!record || record.state === 'exited') {
      if (record && isSupervised(record)) await this.endLeftovers(record);
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
    this.signalTree(record, 'SIGTERM');
    const exited = await this.waitForExit(id, graceMs);
    // The command may exit at once while what it started still drains (a wrapper that does not wait for its child).
    const treeGone = await this.waitForNone(id, Math.max(0, graceMs - (Date.now() - startedAt)));
    let killed = false;
    if (!exited || !treeGone) {
      killed = true;
      this.signalTree(record, 'SIGKILL');
      await this.waitForExit(id, 5000);
      await this.waitForNone(id, 2000);
    }
    return { exitCode: record.exitCode, signal: record.signal, killed, stopMs: Date.now() - startedAt };
  }

  /** A listener that is this router's instance `id` (a leftover of its own, which the restart ends). */
  private isOwn(listener: Listener, spec: InstanceSpec): boolean {
    return belongsTo(listener.marks, this.owner(spec));
  }

  private owner(spec: InstanceSpec): InstanceOwner {
    return instanceOwner(spec.id, this.options.scope, spec.cwd);
  }

  /** Whether pid is still the instance we started (guards against pid reuse after a router restart); off Linux, whether it lives. */
  private isOurInstance(pid: number, record: InstanceRecord): boolean {
    if (!isProcessAlive(pid)) return false;
    return process.platform !== 'linux' || isInstanceProcess(pid, this.owner(record));
  }

  /** The instance's process group (the command's), and every process that carries its id and this router's scope, wherever it went. */
  private signalTree(record: InstanceRecord, signal: NodeJS.Signals): void {
    signalGroup(record.pid, signal);
    for (const pid of instanceProcesses(this.owner(record))) {
      try {
        process.kill(pid, signal);
      } catch {
        /* already gone */
      }
    }
  }

  /** Waits until no process carries the instance's id; false when some still do after timeoutMs. */
  private async waitForNone(id: string, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    const record = this.instances[id];
    for (;;) {
      if (!record || instanceProcesses(this.owner(record)).length === 0) return true;
      if (Date.now() >= deadline) return false;
      await sleep(50);
    }
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
  // -1 (never spawned) would signal every process we may signal, 1 is init: neither is an instance.
  if (!(pid > 1)) return;
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
