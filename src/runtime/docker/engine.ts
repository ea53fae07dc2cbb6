import type Docker from 'dockerode';
import { FerryError, errorMessage } from '../../util/errors.js';
import { sleep } from '../../util/sleep.js';

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH']);

/** True when the error says the engine could not be reached at all (as opposed to the engine answering "no"). */
export function isEngineUnreachable(error: unknown): boolean {
  const code = (error as { code?: string } | undefined)?.code;
  if (code && UNREACHABLE_CODES.has(code)) return true;
  return /socket hang up|connect ECONNREFUSED|connect ENOENT|EPIPE|ECONNRESET/i.test(errorMessage(error));
}

/** Where the client looks for the engine, for messages: `unix:///var/run/docker.sock` or `tcp://host:port`. */
export function engineAddress(docker: Docker): string {
  const modem = docker.modem as unknown as { socketPath?: string; host?: string; port?: number | string; protocol?: string };
  if (modem.socketPath) return `unix://${modem.socketPath}`;
  return `${modem.protocol ?? 'http'}://${modem.host}:${modem.port}`;
}

export function engineUnreachableError(docker: Docker, doing: string, error: unknown, waitedMs?: number): FerryError {
  const waited = waitedMs ? ` and did not come back within ${Math.round(waitedMs / 1000)}s` : '';
  return new FerryError({
    code: 'ENGINE_UNREACHABLE',
    message: `the Docker engine at ${engineAddress(docker)} went away while ${doing}${waited} (${errorMessage(error)})`,
    hint: 'Check the engine (`docker info`, `systemctl status docker`). Healthy containers run with restart policy unless-stopped, so the serving release comes back with the engine; set "live-restore": true in /etc/docker/daemon.json to keep them running through engine restarts.',
    cause: error,
  });
}

export interface EngineWait {
  /** How long to wait for an unreachable engine to answer again before giving up. */
  waitTimeoutMs: number;
  onWait?: (message: string) => void;
}

/**
 * Runs an engine call; when the engine cannot be reached, waits for it (bounded) and runs the call again.
 * For work that must happen once the engine is back, such as stopping a failed release's containers.
 */
export async function withEngine<T>(docker: Docker, doing: string, body: () => Promise<T>, wait: EngineWait): Promise<T> {
  const startedAt = Date.now();
  let announced = false;
  for (let delayMs = 250; ; delayMs = Math.min(delayMs * 2, 2000)) {
    try {
      return await body();
    } catch (error) {
      if (!isEngineUnreachable(error)) throw error;
      if (Date.now() - startedAt >= wait.waitTimeoutMs) throw engineUnreachableError(docker, doing, error, wait.waitTimeoutMs);
      if (!announced) wait.onWait?.(`the Docker engine at ${engineAddress(docker)} is unreachable (${errorMessage(error)}); waiting up to ${Math.round(wait.waitTimeoutMs / 1000)}s to finish ${doing}`);
      announced = true;
      await sleep(delayMs);
    }
  }
}

export interface ProgressEvent {
  id?: string;
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
}

/**
 * Follows an engine progress stream (build, push) to its end, bounded by timeoutMs. A failure the engine
 * reports arrives as an error event; an error of the stream itself means the connection to the engine broke.
 */
export function followEngineStream(docker: Docker, stream: NodeJS.ReadableStream, timeoutMs: number, onEvent: (event: ProgressEvent) => void): Promise<{ reason: string; connectionLost?: boolean } | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      (stream as unknown as { destroy?: () => void }).destroy?.();
      resolve({ reason: `timed out after ${timeoutMs}ms` });
    }, timeoutMs);
    let error: string | undefined;
    docker.modem.followProgress(
      stream,
      (err: Error | null) => {
        clearTimeout(timer);
        resolve(err ? { reason: err.message, connectionLost: true } : error ? { reason: error } : undefined);
      },
      (event: ProgressEvent) => {
        if (event.error) error = event.errorDetail?.message ?? event.error;
        onEvent(event);
      },
    );
  });
}
