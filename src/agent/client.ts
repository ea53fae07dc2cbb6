import { spawn, type ChildProcess } from 'node:child_process';
import { ferryProcessEnv } from '../shared/process-env.js';
import { closeSync, mkdirSync, openSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { FERRY_ROOT } from '../shared/build-info.js';
import { statePaths } from '../state/paths.js';
import type { AgentInfo } from './agent.js';
import { FerryError, type ErrorCode } from '../util/errors.js';
import type { ExitCode } from '../errors/exit-codes.js';
import { readJsonOr } from '../util/fs-atomic.js';
import { isProcessAlive, sleep } from '../util/sleep.js';

/** ferry's CLI entry. Paths start at ferry's folder, not at this module: the built code is bundled (scripts/build.js). */
export const FERRY_BIN = join(FERRY_ROOT, 'bin/ferry.js');

/** The agent of a project, if one is running and answering. */
export async function findAgent(projectDir: string): Promise<AgentInfo | undefined> {
  const info = readJsonOr<AgentInfo | undefined>(statePaths(projectDir).agentInfo, undefined);
  if (!info || !isProcessAlive(info.pid)) return undefined;
  try {
    const { body } = await httpJson(`${info.url}/api/health`, { timeoutMs: 2000 });
    return (body as { pid?: number }).pid === info.pid ? info : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts the agent as its own process (its own process group) with a scrubbed environment: nothing of
 * this shell reaches it but what shared/process-env.ts lists. `inherit` shows its output here (a foreground
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
    // This child, or the agent that won the state folder's lock when several commands started one at once
    // (the child then exits 0 and that agent answers once it has started).
    const info = await findAgent(projectDir);
    if (info) return info;
    if (child.exitCode !== null && child.exitCode !== 0) break;
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

/**
 * The project's agent, started if none runs. Of several commands that find none at once (a script, a CI job
 * running commands in parallel), one starts it: the first to create `agent.starting` in the state folder; the
 * others wait for it to answer instead of starting agents that would lose the state folder's lock anyway.
 * `whileStarting` runs while the agent this command started boots (the CLI validates ferry.yml meanwhile): if
 * it throws, that agent is stopped and the error is the answer.
 */
export async function ensureAgent(projectDir: string, say: (message: string) => void, options: { startTimeoutMs?: number; whileStarting?: () => Promise<unknown> } = {}): Promise<AgentInfo> {
  const startTimeoutMs = options.startTimeoutMs ?? 120_000;
  const deadline = Date.now() + startTimeoutMs;
  while (Date.now() < deadline) {
    const running = await findAgent(projectDir);
    if (running) return running;
    const claim = claimAgentStart(statePaths(projectDir).root);
    if (claim) {
      try {
        const child = spawnAgentProcess(projectDir, { output: 'file' });
        child.unref();
        try {
          await options.whileStarting?.();
        } catch (error) {
          child.kill();
          throw error;
        }
        const info = await agentAnswering(projectDir, child, Math.max(1000, deadline - Date.now()));
        say(`no agent was running; started one (pid ${info.pid}) at ${info.url}`);
        return info;
      } finally {
        claim();
      }
    }
    // Another command is starting one: it validates; if it fails, this one claims the start next and says why.
    await sleep(50);
  }
  throw new FerryError({ code: 'AGENT_START_FAILED', message: `no agent answered within ${startTimeoutMs}ms (another ferry command was starting one)`, hint: `Read ${statePaths(projectDir).agentOut}.` });
}

/** Takes the right to start the agent (an exclusive file naming this pid); undefined while a live command holds it. Returns its release. */
function claimAgentStart(stateRoot: string): (() => void) | undefined {
  const file = join(stateRoot, 'agent.starting');
  mkdirSync(stateRoot, { recursive: true, mode: 0o700 });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return () => rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(readJsonOr<number>(file, 0));
      const written = statSync(file, { throwIfNoEntry: false });
      if (!written) continue; // released meanwhile: claim it
      // Alive, or just created and its pid not written yet.
      if (holder ? isProcessAlive(holder) : Date.now() - written.mtimeMs < 5000) return undefined;
      // Left by a command that died while starting one: taken over (the database's lock still allows one agent only).
      rmSync(file, { force: true });
    }
  }
  return undefined;
}

/** The route and body that start a deploy, a rollback, or a promotion (`promoteFrom`: the source environment, whose agent checks it). */
export function deploymentCall(request: { env: string; kind: 'deploy' | 'rollback'; ref?: string; to?: string; promoteFrom?: string; secrets: Record<string, string> }): [path: string, body: object] {
  if (request.promoteFrom) return ['/api/promotions', { from: request.promoteFrom, to: request.env, secrets: request.secrets }];
  if (request.kind === 'deploy') return ['/api/deployments', { env: request.env, ref: request.ref, secrets: request.secrets }];
  return ['/api/rollbacks', { env: request.env, to: request.to, secrets: request.secrets }];
}

/** The error an agent answered with (`{"error": {...}}`), as a FerryError with the agent's exit code. */
export function agentError(status: number, body: unknown): FerryError {
  const error = (body as { error?: { code: ErrorCode; message: string; hint?: string; details?: string[]; exitCode?: ExitCode } } | undefined)?.error ?? { code: 'AGENT_ERROR' as ErrorCode, message: `agent answered HTTP ${status}` };
  // The agent's exit code crosses the HTTP hop as it is.
  return new FerryError({ code: error.code, message: error.message, hint: error.hint, details: error.details, remoteExitCode: error.exitCode });
}

/**
 * One request over node:http, answered with the response as it starts. The CLI's calls use it rather than
 * fetch, whose first use loads undici: about 40 ms of a command that should answer at once.
 */
function httpOpen(url: string, options: { method?: string; token?: string; body?: unknown; timeoutMs?: number } = {}): Promise<IncomingMessage> {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  const headers: Record<string, string> = { ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) }) };
  return new Promise((resolve, reject) => {
    // Its own connection (agent: false): the global agent's keep-alive sockets time out after 5 s of silence,
    // which would cut a call the agent takes longer to answer (an ACME renewal). A timeout only when asked for.
    const request = httpRequest(url, { method: options.method ?? 'GET', headers, agent: false, ...(options.timeoutMs ? { timeout: options.timeoutMs } : {}) }, resolve);
    if (options.timeoutMs) request.on('timeout', () => request.destroy(new Error(`${url} did not answer within ${options.timeoutMs}ms`)));
    request.on('error', reject);
    request.end(payload);
  });
}

/** A response's whole body as JSON ({} when empty or not JSON: the status says what happened). */
async function jsonOf(response: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return text ? JSON.parse(text) : {};
  } catch {
    return {};
  }
}

async function httpJson(url: string, options: Parameters<typeof httpOpen>[1] = {}): Promise<{ status: number; body: unknown }> {
  const response = await httpOpen(url, options);
  return { status: response.statusCode ?? 0, body: await jsonOf(response) };
}

async function agentCall<T>(agent: AgentInfo, path: string, method: 'GET' | 'POST', body?: unknown): Promise<T> {
  const answer = await httpJson(`${agent.url}${path}`, { method, token: agent.token, body });
  if (answer.status < 200 || answer.status > 299) throw agentError(answer.status, answer.body);
  return answer.body as T;
}

export const agentGet = <T>(agent: AgentInfo, path: string): Promise<T> => agentCall<T>(agent, path, 'GET');

export const agentPost = <T>(agent: AgentInfo, path: string, body: unknown): Promise<T> => agentCall<T>(agent, path, 'POST', body);

/** POSTs and reads the NDJSON event stream, handing each event to onEvent. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- NDJSON events of several shapes; each caller reads the fields of the ones it handles
export async function agentStream(agent: AgentInfo, path: string, body: unknown, onEvent: (event: any) => void): Promise<void> {
  await readNdjson(await httpOpen(`${agent.url}${path}`, { method: 'POST', token: agent.token, body }), onEvent);
}

/** GETs an NDJSON stream (`ferry logs --follow`) and hands each record to onEvent until the agent ends it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- records of several shapes
export async function agentGetStream(agent: AgentInfo, path: string, onEvent: (event: any) => void): Promise<void> {
  await readNdjson(await httpOpen(`${agent.url}${path}`, { token: agent.token }), onEvent);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
async function readNdjson(response: IncomingMessage, onEvent: (event: any) => void): Promise<void> {
  const status = response.statusCode ?? 0;
  if (status < 200 || status > 299) throw agentError(status, await jsonOf(response));
  response.setEncoding('utf8');
  let buffered = '';
  for await (const chunk of response) {
    buffered += chunk as string;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) onEvent(JSON.parse(line));
  }
  if (buffered.trim()) onEvent(JSON.parse(buffered));
}
