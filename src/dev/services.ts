import { spawn } from 'node:child_process';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import Docker from 'dockerode';
import type { DevServiceConfig } from '../config/schema.js';
import { freePort } from '../util/ports.js';
import { errorMessage, FerryError } from '../util/errors.js';

/** A service `ferry dev` started: where it listens, what the app gets, how it stops. */
export interface RunningService {
  name: string;
  port: number;
  /** `container <id>` or `pid <n>`. */
  what: string;
  env: Record<string, string>;
  stop(): Promise<void>;
}

const fill = (text: string, port: number) => text.replace(/\{port\}/g, String(port));

async function waitForPort(port: number, timeoutMs: number, alive: () => boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && alive()) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (open) return true;
    await sleep(100);
  }
  return false;
}

/**
 * Starts one development service: a Docker container published on 127.0.0.1 (pulled if the engine lacks the
 * image), or a command on this machine; resolves once its port accepts connections.
 */
export async function startService(app: string, name: string, settings: DevServiceConfig, options: { readyTimeoutMs: number; say: (line: string) => void }): Promise<RunningService> {
  const port = settings.image ? await freePort() : (settings.port ?? (await freePort()));
  const env = Object.fromEntries(Object.entries(settings.env).map(([key, value]) => [key, fill(value, port)]));
  if (settings.command) {
    const child = spawn('sh', ['-c', fill(settings.command, port)], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    let said = '';
    child.stderr!.on('data', (chunk) => (said = (said + chunk).slice(-2000)));
    const stop = async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        return;
      }
      for (let i = 0; i < 50 && child.exitCode === null && child.signalCode === null; i++) await sleep(100);
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
    };
    if (!(await waitForPort(port, options.readyTimeoutMs, () => child.exitCode === null))) {
      await stop();
      throw new FerryError({ code: 'DEV_SERVICE_FAILED', message: `dev service ${name} (\`${fill(settings.command, port)}\`) did not listen on 127.0.0.1:${port} within ${options.readyTimeoutMs / 1000} s${said ? `: ${said.trim().split('\n').slice(-3).join(' | ')}` : ''}`, hint: 'Is the program installed, and does the command use {port}?' });
    }
    return { name, port, what: `pid ${child.pid}`, env, stop };
  }
  const docker = new Docker();
  const image = settings.image!;
  const inside = `${settings.port}/tcp`;
  try {
    const have = await docker.listImages({ filters: { reference: [image] } });
    if (have.length === 0) {
      options.say(`${name}: pulling ${image}…`);
      await new Promise<void>((resolve, reject) => docker.pull(image, (error: Error | null, stream: NodeJS.ReadableStream) => (error ? reject(error) : docker.modem.followProgress(stream, (done: Error | null) => (done ? reject(done) : resolve())))));
    }
    const container = await docker.createContainer({
      name: `ferry-dev-${app}-${name}-${port}`,
      Image: image,
      Env: Object.entries(settings.container_env).map(([key, value]) => `${key}=${fill(value, port)}`),
      ExposedPorts: { [inside]: {} },
      Labels: { 'ferry.dev': app },
      HostConfig: { AutoRemove: true, PortBindings: { [inside]: [{ HostIp: '127.0.0.1', HostPort: String(port) }] } },
    });
    await container.start();
    let running = true;
    const stop = async () => {
      if (!running) return;
      running = false;
      await container.stop({ t: 5 }).catch(() => undefined);
    };
    if (!(await waitForPort(port, options.readyTimeoutMs, () => running))) {
      await stop();
      throw new FerryError({ code: 'DEV_SERVICE_FAILED', message: `dev service ${name} (${image}) did not accept connections on 127.0.0.1:${port} within ${options.readyTimeoutMs / 1000} s` });
    }
    return { name, port, what: `container ${container.id.slice(0, 12)} (${image})`, env, stop };
  } catch (error) {
    if (error instanceof FerryError) throw error;
    throw new FerryError({ code: 'DEV_SERVICE_FAILED', message: `dev service ${name} (${image}) could not start: ${errorMessage(error)}`, hint: 'Is the Docker engine running, and can it pull the image? Or give the service a command: to run it on this machine.' });
  }
}
