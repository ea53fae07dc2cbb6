import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import type net from 'node:net';
import { join } from 'node:path';
import { FERRY_ROOT } from '../shared/build-info.js';
import type { ProxyHostOptions, ProxyStats, RoutingView, UpstreamLoad } from './proxy-host.js';
import type { FromWorker, ToWorker, WorkerSettings } from './worker-protocol.js';
import { ferryProcessEnv } from '../shared/process-env.js';
import type { SharedListener } from './shared-listener.js';

const WORKER_ENTRY = join(FERRY_ROOT, 'dist/router/worker-main.js');
/** How long a worker may take to acknowledge a routing change or answer for its counters. */
const WORKER_REPLY_TIMEOUT_MS = 2000;
/**
 * How long a new worker may take to boot and take the routing table (a second or more on a loaded machine):
 * one that has not by then is killed and replaced. Connections wait in the master meanwhile.
 */
const WORKER_START_TIMEOUT_MS = 30_000;
/** A worker that dies within this long of its start is replaced after RESPAWN_BACKOFF_MS, not at once (a crash loop). */
const EARLY_DEATH_MS = 1000;
const RESPAWN_BACKOFF_MS = 1000;

/** A listening socket the workers accept on, and its port. */
interface Shared {
  port: number;
  handle: SharedListener;
}

/** `starting`: forked, not yet holding the routing table; `ready`: gets connections; `stopping`: being closed. */
type WorkerState = 'starting' | 'ready' | 'stopping';

interface Worker {
  child: ChildProcess;
  state: WorkerState;
  startedAt: number;
  /** What it counted when last asked: kept when it dies, so the sums over workers never go down. */
  lastStats?: ProxyStats;
  /** Messages sent to it that await a reply. */
  pending: Set<number>;
  /** Connections sent to it that it has not confirmed yet (the master still holds a copy of each). */
  inTransit: Map<number, { env: string; socket: net.Socket }>;
}

export interface WorkerPoolOptions {
  count: number;
  host: ProxyHostOptions;
  /** The routing table as workers get it. */
  view: () => RoutingView;
  /** Where the workers' stdout and stderr go (the router's stderr log). */
  logFile?: string;
  log: (message: string, fields?: Record<string, unknown>) => void;
  /** See WORKER_START_TIMEOUT_MS. */
  startTimeoutMs?: number;
}

/**
 * The master's side of the workers: forks them, gives each the listening sockets to accept on (or, for a
 * socket the master accepts on itself, hands each accepted client connection to the next ready worker,
 * round-robin, keeping connections waiting while none is ready), replaces a worker that dies, sends every
 * routing change to all of them and waits for each to acknowledge it, and sums their counters.
 */
export class WorkerPool {
  private readonly workers = new Set<Worker>();
  private waiting: Array<{ env: string; socket: net.Socket }> = [];
  private readonly replies = new Map<number, (message: FromWorker | undefined) => void>();
  private seq = 0;
  private next = 0;
  private closing = false;
  private counting = true;
  /** What workers that died had counted. */
  private readonly retired: ProxyStats[] = [];
  /** Workers replaced since start (not counting the first ones). */
  replaced = 0;
  /** The listening sockets every ready worker accepts on, by listener. */
  private readonly shared = new Map<string, Shared>();
  /** Called when a worker becomes ready and listens on the shared sockets, with what each listen said. */
  private listeningWaiters: Array<(errors: Map<string, string>) => void> = [];

  constructor(private readonly options: WorkerPoolOptions) {}

  /** Forks the workers and waits until each holds the routing table. */
  async start(): Promise<void> {
    await Promise.all(Array.from({ length: this.options.count }, () => this.spawn()));
  }

  /** The workers' process ids (ready ones). */
  pids(): number[] {
    return [...this.workers].filter((w) => w.state === 'ready').map((w) => w.child.pid!);
  }

  /** Hands a client connection (accepted paused) to a ready worker, or keeps it until one is. */
  dispatch(env: string, socket: net.Socket): void {
    if (socket.destroyed) return;
    const ready = this.readyWorkers();
    if (ready.length === 0) return void this.waiting.push({ env, socket });
    const worker = ready[(this.next = (this.next + 1) % ready.length)];
    const id = ++this.seq;
    const message: ToWorker = { type: 'connection', env, id };
    worker.inTransit.set(id, { env, socket });
    // keepOpen: the master closes its copy only when the worker confirms, so a worker that dies first loses nothing.
    worker.child.send(message, socket, { keepOpen: true }, (error) => {
      if (!error) return;
      if (!worker.child.connected) return this.lost(worker);
      // The worker is there but this socket could not be sent (the client went away meanwhile).
      worker.inTransit.delete(id);
      socket.destroy();
    });
  }

  /**
   * Has every ready worker accept on a listening socket for a listener (replacing the one it had for it), and
   * every worker that becomes ready later. Resolves once one worker listens on it (the socket takes connections
   * from then on), waiting for a first worker if none is ready yet; rejects with what the workers' listen said.
   */
  async share(listener: string, port: number, handle: SharedListener): Promise<void> {
    const previous = this.shared.get(listener);
    this.shared.set(listener, { port, handle });
    const ready = this.readyWorkers();
    let errors: string[];
    if (ready.length === 0) {
      const startTimeoutMs = this.options.startTimeoutMs ?? WORKER_START_TIMEOUT_MS;
      let timer: NodeJS.Timeout | undefined;
      const first = await Promise.race([new Promise<Map<string, string>>((resolve) => this.listeningWaiters.push(resolve)), new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), startTimeoutMs)))]);
      clearTimeout(timer);
      // No worker in time: it listens when one is ready.
      const error = first?.get(listener);
      if (error === undefined) return;
      errors = [error];
    } else {
      errors = (await Promise.all(ready.map((worker) => this.listenOn(worker, listener, { port, handle })))).filter((error): error is string => error !== undefined);
      if (errors.length < ready.length) return;
    }
    // None could: the workers keep the socket they had (see worker-main), and so does the pool.
    if (previous) this.shared.set(listener, previous);
    else this.shared.delete(listener);
    throw Object.assign(new Error(errors[0]), { code: errors[0] });
  }

  /** The workers stop accepting on a listener's socket (its connections stay theirs). */
  unshare(listener: string): void {
    if (!this.shared.delete(listener)) return;
    for (const worker of this.readyWorkers()) this.send(worker, { type: 'unlisten', listener });
  }

  /** Has a worker accept on a listener's socket; the error its listen gave, if any (no answer in time is one). */
  private async listenOn(worker: Worker, listener: string, { port, handle }: Shared): Promise<string | undefined> {
    const answer = await this.ask(worker, (seq) => ({ type: 'listen', seq, listener, port }), WORKER_REPLY_TIMEOUT_MS, handle);
    if (answer?.type === 'ack' && !answer.error) return undefined;
    const error = answer?.type === 'ack' ? answer.error! : 'no answer';
    this.options.log('a router worker could not listen on a shared socket', { pid: worker.child.pid, listener, error });
    return error;
  }

  /** Sends the routing table to every worker; resolves when all have it, with the time that took. */
  async broadcast(): Promise<number> {
    const started = performance.now();
    const view = this.options.view();
    await Promise.all([...this.workers].filter((w) => w.state !== 'stopping').map((w) => this.ask(w, (seq) => ({ type: 'table', seq, view }))));
    return performance.now() - started;
  }

  async setCounting(enabled: boolean): Promise<void> {
    this.counting = enabled;
    await Promise.all(this.readyWorkers().map((w) => this.ask(w, (seq) => ({ type: 'counting', seq, enabled }))));
  }

  forget(id: string): void {
    for (const worker of this.readyWorkers()) this.send(worker, { type: 'forget', id });
  }

  /** Each ready worker's requests in flight, per upstream instance. */
  async load(): Promise<UpstreamLoad[]> {
    const answers = await Promise.all(this.readyWorkers().map((worker) => this.ask(worker, (seq) => ({ type: 'inflight', seq }))));
    return answers.flatMap((answer) => (answer?.type === 'inflight' ? [answer.load] : []));
  }

  /** Each worker's counters and in-flight requests, and those of the workers that died. */
  async stats(): Promise<ProxyStats[]> {
    const answers = await Promise.all(
      this.readyWorkers().map(async (worker) => {
        const answer = await this.ask(worker, (seq) => ({ type: 'stats', seq }));
        if (answer?.type === 'stats') worker.lastStats = answer.stats;
        return worker.lastStats;
      }),
    );
    return [...this.retired, ...answers.filter((s): s is ProxyStats => s !== undefined)];
  }

  /** Each worker ends its connections gracefully and exits; resolves when all have (cut after timeoutMs). */
  drain(timeoutMs: number): Promise<void> {
    return this.stopAll((worker) => this.send(worker, { type: 'drain', timeoutMs }), timeoutMs + 2000);
  }

  /** Stops the workers: each finishes what it has in flight (up to 2 s) and exits. */
  close(): Promise<void> {
    for (const { socket } of this.waiting) socket.destroy();
    this.waiting = [];
    return this.stopAll((worker) => worker.child.connected && worker.child.disconnect(), 3000);
  }

  /** Tells every worker to stop (no replacements from now on) and waits for each to exit, killing it after killAfterMs. */
  private async stopAll(tell: (worker: Worker) => void, killAfterMs: number): Promise<void> {
    this.closing = true;
    await Promise.all(
      [...this.workers].map(
        (worker) =>
          new Promise<void>((resolve) => {
            if (worker.child.exitCode !== null || worker.child.signalCode !== null) return resolve();
            worker.child.once('exit', () => resolve());
            tell(worker);
            setTimeout(() => worker.child.kill('SIGKILL'), killAfterMs).unref();
          }),
      ),
    );
  }

  private readyWorkers(): Worker[] {
    return [...this.workers].filter((w) => w.state === 'ready');
  }

  private spawn(): Promise<void> {
    const settings: WorkerSettings = { ...this.options.host, counting: this.counting };
    const out = this.options.logFile ? openSync(this.options.logFile, 'a', 0o600) : 'ignore';
    const child = fork(WORKER_ENTRY, [JSON.stringify(settings)], { stdio: ['ignore', out, out, 'ipc'], env: ferryProcessEnv(), execArgv: ['--max-semi-space-size=64'], serialization: 'json' });
    if (typeof out === 'number') closeSync(out);
    const worker: Worker = { child, state: 'starting', startedAt: Date.now(), pending: new Set(), inTransit: new Map() };
    this.workers.add(worker);
    child.on('message', (message: FromWorker) => {
      if (message.type !== 'accepted') return this.replies.get(message.seq)?.(message);
      const sent = worker.inTransit.get(message.id);
      worker.inTransit.delete(message.id);
      sent?.socket.destroy();
    });
    child.once('exit', (code, signal) => {
      this.lost(worker);
      if (this.closing) return;
      this.options.log('router worker exited; replacing it', { pid: child.pid, code, signal });
      const early = Date.now() - worker.startedAt < EARLY_DEATH_MS;
      setTimeout(() => void this.spawn().then(() => this.replaced++), early ? RESPAWN_BACKOFF_MS : 0).unref();
    });
    child.on('error', () => this.lost(worker));
    // Its first table is waited for longer than any later message: it is ready when it holds one, however late.
    const startTimeoutMs = this.options.startTimeoutMs ?? WORKER_START_TIMEOUT_MS;
    return this.ask(worker, (seq) => ({ type: 'table', seq, view: this.options.view() }), startTimeoutMs).then((answer) => {
      if (worker.state !== 'starting') return;
      if (!answer) {
        this.options.log('router worker did not take the routing table in time; replacing it', { pid: child.pid, startTimeoutMs });
        child.kill('SIGKILL');
        return;
      }
      worker.state = 'ready';
      const waiting = this.waiting;
      this.waiting = [];
      for (const { env, socket } of waiting) this.dispatch(env, socket);
      return Promise.all([...this.shared].map(async ([listener, shared]) => [listener, await this.listenOn(worker, listener, shared)] as const)).then((listened) => {
        const errors = new Map(listened.filter((entry): entry is readonly [string, string] => entry[1] !== undefined));
        const waiters = this.listeningWaiters;
        this.listeningWaiters = [];
        for (const resolve of waiters) resolve(errors);
      });
    });
  }

  /** A worker that died: it gets nothing more; what it counted stays in the sums. */
  private lost(worker: Worker): void {
    if (!this.workers.delete(worker)) return;
    if (worker.lastStats) this.retired.push({ ...worker.lastStats, inflight: {}, upgraded: {} });
    worker.state = 'stopping';
    for (const seq of worker.pending) this.replies.get(seq)?.(undefined);
    // Connections it never confirmed go to the other workers (or wait for one).
    const stranded = [...worker.inTransit.values()];
    worker.inTransit.clear();
    for (const { env, socket } of stranded) if (!socket.destroyed) this.dispatch(env, socket);
  }

  private send(worker: Worker, message: ToWorker, handle?: SharedListener): void {
    if (worker.child.connected) worker.child.send(message, handle as net.Server | undefined, (error) => error && this.lost(worker));
  }

  /** Sends a message that gets a reply; undefined when the worker did not answer in time (or is gone). */
  private ask(worker: Worker, message: (seq: number) => ToWorker, timeoutMs = WORKER_REPLY_TIMEOUT_MS, handle?: SharedListener): Promise<FromWorker | undefined> {
    const seq = ++this.seq;
    return new Promise((resolve) => {
      const done = (answer: FromWorker | undefined) => {
        clearTimeout(timer);
        this.replies.delete(seq);
        worker.pending.delete(seq);
        resolve(answer);
      };
      const timer = setTimeout(() => done(undefined), timeoutMs);
      this.replies.set(seq, done);
      worker.pending.add(seq);
      this.send(worker, message(seq), handle);
    });
  }
}
