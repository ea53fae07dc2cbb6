import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, openSync, readdirSync, statSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { FERRY_ROOT, FERRY_VERSION } from '../shared/build-info.js';
import { ferryProcessEnv } from '../shared/process-env.js';
import type { SharedListener } from './shared-listener.js';

/**
 * Which router code this is: ferry's version and the size and time of each file of the built router. A
 * running router whose build differs from the ferry that talks to it was started by another ferry (an
 * upgrade, a rebuild): that ferry asks it to hand its sockets over to a router of its own code.
 */
export function routerBuild(): string {
  const dir = join(FERRY_ROOT, 'dist/router');
  const hash = createHash('sha256').update(FERRY_VERSION);
  for (const name of readdirSync(dir).filter((file) => file.endsWith('.js')).sort()) {
    const stat = statSync(join(dir, name));
    hash.update(`${name}:${stat.size}:${stat.mtimeMs}`);
  }
  return `${FERRY_VERSION}+${hash.digest('hex').slice(0, 12)}`;
}

/** What the old router and its successor say to each other during a handover. */
export type HandoverMessage =
  | { type: 'hello' }
  | { type: 'listener'; env: string; port: number }
  | { type: 'listeners-sent' }
  | { type: 'serving' }
  | { type: 'control-free' }
  | { type: 'control-bound'; pid: number };

/** What the old router does in a handover; side effects passed in. */
export interface HandoverSide {
  /** Each listener's socket: one its workers accept on, or (an older router's way) one the master accepts on. */
  listeners(): Array<{ env: string; port: number; handle: net.Server | SharedListener }>;
  /** Stops accepting: the listening sockets stay open in the successor. */
  stopAccepting(): void;
  /** Closes the control socket so the successor can bind it. */
  releaseControl(): void;
  log(message: string, fields?: Record<string, unknown>): void;
}

export interface SuccessorSpec {
  /** The router entry of the ferry taking over (its dist/router/main.js) and the Node that runs it. */
  entry: string;
  execPath: string;
  stateDir: string;
  workers: number;
  logFile: string;
}

function nextMessage(child: ChildProcess, type: HandoverMessage['type'], timeoutMs: number): Promise<HandoverMessage> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`the new router did not say ${type} within ${timeoutMs}ms`)), timeoutMs);
    const onMessage = (message: HandoverMessage) => message.type === type && finish(undefined, message);
    const onExit = (code: number | null) => finish(new Error(`the new router exited (code ${code}) before ${type}`));
    function finish(error?: Error, message?: HandoverMessage) {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(message!);
    }
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

// keepOpen: this router goes on accepting on a socket it sent until the successor serves (Node would close it at once).
const send = (child: ChildProcess, message: HandoverMessage, handle?: net.Server | SharedListener) =>
  new Promise<void>((resolve, reject) => child.send(message, handle as net.Server | undefined, { keepOpen: true }, (error) => (error ? reject(error) : resolve())));

/**
 * Starts the successor router, sends it every listening socket, and once it accepts on them (its workers
 * ready), stops accepting here and gives it the control socket. No listening socket closes on the way, so
 * no connection is refused. Resolves with the successor's pid; if anything fails before the successor
 * serves, it is killed and this router goes on as before.
 */
export async function handOver(side: HandoverSide, successor: SuccessorSpec, timeoutMs = 20_000): Promise<number> {
  const out = openSync(successor.logFile, 'a', 0o600);
  const child = spawn(successor.execPath, ['--max-semi-space-size=64', successor.entry, successor.stateDir, '--workers', String(successor.workers), '--takeover'], {
    detached: true,
    stdio: ['ignore', out, out, 'ipc'],
    env: ferryProcessEnv(),
  });
  closeSync(out);
  try {
    await nextMessage(child, 'hello', timeoutMs);
    for (const { env, port, handle } of side.listeners()) await send(child, { type: 'listener', env, port }, handle);
    await send(child, { type: 'listeners-sent' });
    await nextMessage(child, 'serving', timeoutMs);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  side.stopAccepting();
  side.releaseControl();
  await send(child, { type: 'control-free' });
  const bound = await nextMessage(child, 'control-bound', timeoutMs);
  side.log('handed the listening sockets and the control socket over', { successor: child.pid });
  child.disconnect();
  child.unref();
  return bound.type === 'control-bound' ? bound.pid : child.pid!;
}

/**
 * A listening socket received from the predecessor: one its workers accepted on (`shared`: the successor's
 * workers take it, connections wait in its backlog meanwhile), or one an older router's master accepted on
 * (`server`: accepting here already, with the connections it accepted before the router took it).
 */
export interface ReceivedListener {
  env: string;
  port: number;
  shared?: SharedListener;
  server?: net.Server;
  /** Stops parking connections and returns those parked so far (paused, not read). */
  takeParked(): net.Socket[];
}

/**
 * The successor's side: the listening sockets its predecessor sends, until it says it has sent them all.
 * One an older router's master accepted on accepts here at once (the predecessor still does too): what it
 * accepts before the router is ready is parked, paused, not left without a handler.
 */
export function receiveListeners(): Promise<ReceivedListener[]> {
  const received: ReceivedListener[] = [];
  return new Promise((resolve) => {
    const onMessage = (message: HandoverMessage, handle?: net.Server | SharedListener) => {
      if (message.type === 'listener' && handle instanceof net.Server) {
        const server = handle;
        const settings = server as net.Server & { pauseOnConnect: boolean; allowHalfOpen: boolean };
        settings.pauseOnConnect = true;
        settings.allowHalfOpen = true;
        const parked: net.Socket[] = [];
        const park = (socket: net.Socket) => void parked.push(socket);
        server.on('connection', park);
        received.push({ env: message.env, port: message.port, server, takeParked: () => (server.off('connection', park), parked.splice(0)) });
      } else if (message.type === 'listener' && handle) {
        received.push({ env: message.env, port: message.port, shared: handle, takeParked: () => [] });
      }
      if (message.type === 'listeners-sent') {
        process.off('message', onMessage);
        resolve(received);
      }
    };
    process.on('message', onMessage);
    process.send!({ type: 'hello' } satisfies HandoverMessage);
  });
}

/** Waits for the predecessor to release the control socket. */
export function controlReleased(): Promise<void> {
  return new Promise((resolve) => {
    const onMessage = (message: HandoverMessage) => {
      if (message.type !== 'control-free') return;
      process.off('message', onMessage);
      resolve();
    };
    process.on('message', onMessage);
  });
}
