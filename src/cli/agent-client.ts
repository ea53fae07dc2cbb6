import { spawn, type ChildProcess } from 'node:child_process';
import { ferryProcessEnv } from '../runtime/base-env.js';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { statePaths } from '../state/paths.js';
import type { AgentInfo } from '../agent/agent.js';
import { FerryError, type ErrorCode } from '../util/errors.js';
import type { ExitCode } from '../util/exit-codes.js';
import { readJsonOr } from '../util/fs-atomic.js';
import { isProcessAlive, sleep } from '../util/sleep.js';

export const FERRY_BIN = fileURLToPath(new URL('../../bin/ferry.js', import.meta.url));

/** The agent of a project, if one is running and answering. */
export async function findAgent(projectDir: string): Promise<AgentInfo | undefined> {
  const info = readJsonOr<AgentInfo | undefined>(statePaths(projectDir).agentInfo, undefined);
  if (!info || !isProcessAlive(info.pid)) return undefined;
  try {
    const response = await fetch(`${info.url}/api/health`, { signal: AbortSignal.timeout(2000) });
    const body = (await response.json()) as { pid: number };
    return body.pid === info.pid ? info : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts the agent as its own process (its own process group) with a scrubbed environment: nothing of
 * this shell reaches it but what base-env.ts lists. `inherit` shows its output here (a foreground
 * `ferry agent`); otherwise it goes to agent.out in the state folder.
 */
export function spawnAgentProcess(projectDir: string, options: { port?: number; output: 'inherit' | 'file'; json?: boolean }): ChildProcess {
  const paths = statePaths(projectDir);
  mkdirSync(paths.root, { recursive: true, mode: 0o700 });
  const out = options.output === 'file' ? openSync(paths.agentOut, 'a', 0o600) : 'inherit';
  const args = [FERRY_BIN, 'agent', '--serve', '--project', projectDir, ...(options.port !== undefined ? ['--port', String(options.port)] : []), ...(options.json ? ['--json'] : [])];
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', out, out], env: ferryProcessEnv() });
  if (typeof out === 'number') closeSync(out);
  return child;
}

/** Waits for a just-started agent to answer; it first starts again the containers of serving releases that are gone (health-gated), hence the long default. */
export async function agentAnswering(projectDir: string, child: ChildProcess, startTimeoutMs = 120_000): Promise<AgentInfo> {
  const deadline = Date.now() + startTimeoutMs;
  while (Date.now() < deadline) {
    const info = await findAgent(projectDir);
    if (info && info.pid === child.pid) return info;
    if (child.exitCode !== null) break;
    await sleep(50);
  }
  const paths = statePaths(projectDir);
  throw new FerryError({ code: 'AGENT_START_FAILED', message: child.exitCode !== null ? `the agent exited with code ${child.exitCode} before it answered` : `the agent did not answer within ${startTimeoutMs}ms`, hint: `Read ${paths.agentOut} and ${paths.agentLog}.` });
}

/** Starts `ferry agent` in the background and waits for it to answer. */
export async function spawnDetachedAgent(projectDir: string, options: { port?: number; startTimeoutMs?: number } = {}): Promise<AgentInfo> {
  const child = spawnAgentProcess(projectDir, { port: options.port, output: 'file' });
  child.unref();
  return agentAnswering(projectDir, child, options.startTimeoutMs);
}

export async function ensureAgent(projectDir: string, say: (message: string) => void): Promise<AgentInfo> {
  const running = await findAgent(projectDir);
  if (running) return running;
  const info = await spawnDetachedAgent(projectDir);
  say(`no agent was running; started one (pid ${info.pid}) at ${info.url}`);
  return info;
}

/** The error an agent answered with (`{"error": {...}}`), as a FerryError with the agent's exit code. */
export function agentError(status: number, body: unknown): FerryError {
  const error = (body as { error?: { code: ErrorCode; message: string; hint?: string; details?: string[]; exitCode?: ExitCode } } | undefined)?.error ?? { code: 'AGENT_ERROR' as ErrorCode, message: `agent answered HTTP ${status}` };
  // The agent's exit code crosses the HTTP hop as it is.
  return new FerryError({ code: error.code, message: error.message, hint: error.hint, details: error.details, remoteExitCode: error.exitCode });
}

async function failFromResponse(response: Response): Promise<never> {
  throw agentError(response.status, await response.json().catch(() => ({})));
}

export async function agentGet<T>(agent: AgentInfo, path: string): Promise<T> {
  const response = await fetch(`${agent.url}${path}`, { headers: { authorization: `Bearer ${agent.token}` } });
  if (!response.ok) await failFromResponse(response);
  return (await response.json()) as T;
}

export async function agentPost<T>(agent: AgentInfo, path: string, body: unknown): Promise<T> {
  const response = await fetch(`${agent.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${agent.token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!response.ok) await failFromResponse(response);
  return (await response.json()) as T;
}

/** POSTs and reads the NDJSON event stream, handing each event to onEvent. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- NDJSON events of several shapes; each caller reads the fields of the ones it handles
export async function agentStream(agent: AgentInfo, path: string, body: unknown, onEvent: (event: any) => void): Promise<void> {
  const response = await fetch(`${agent.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${agent.token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await readNdjson(response, onEvent);
}

/** GETs an NDJSON stream (`ferry logs --follow`) and hands each record to onEvent until the agent ends it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- records of several shapes
export async function agentGetStream(agent: AgentInfo, path: string, onEvent: (event: any) => void): Promise<void> {
  await readNdjson(await fetch(`${agent.url}${path}`, { headers: { authorization: `Bearer ${agent.token}` } }), onEvent);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
async function readNdjson(response: Response, onEvent: (event: any) => void): Promise<void> {
  if (!response.ok) await failFromResponse(response);
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true });
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) onEvent(JSON.parse(line));
  }
  if (buffered.trim()) onEvent(JSON.parse(buffered));
}
