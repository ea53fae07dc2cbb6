import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDurationMs } from '../util/duration.js';
import { ExitCode } from '../errors/exit-codes.js';
import { byCriticalPath } from './graph.js';
import { fileHasher, inputKey } from './inputs.js';
import type { PipelineStore, StageState } from './store.js';
import type { PlannedStage } from './stages.js';

export interface StageResult {
  name: string;
  state: StageState;
  cached: boolean;
  durationMs: number;
  logFile: string | null;
  detail: string | null;
  inputKey: string;
}

export interface PipelineRequest {
  projectDir: string;
  /** In dependency order (orderStages), already narrowed to what was asked for. */
  stages: PlannedStage[];
  files: string[];
  failFast: boolean;
  concurrency: number;
  useCache: boolean;
  logDir: string;
  env: NodeJS.ProcessEnv;
  store: PipelineStore;
  runId: number;
  say: (line: string) => void;
}

const LAST_LINES = 8;

function tailOf(file: string): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-LAST_LINES).join('\n');
  } catch {
    return '';
  }
}

/**
 * Runs the stages as a graph: every stage whose needs are green starts at once (up to `concurrency`; when
 * more are ready than that, those heading the longest chain, by their last durations, go first).
 * A failure cancels the running stages and starts no more (fail_fast), or, without fail_fast, skips only
 * what depends on it. A stage whose inputs match its last green run is not run again ("cached").
 */
export async function runPipeline(request: PipelineRequest): Promise<StageResult[]> {
  mkdirSync(request.logDir, { recursive: true, mode: 0o700 });
  const hash = fileHasher(request.projectDir);
  const results = new Map<string, StageResult>();
  const running = new Map<string, { child: ChildProcess; done: Promise<void> }>();
  let stopping: string | undefined;

  const finish = (result: StageResult) => {
    results.set(result.name, result);
    request.store.recordStage(request.runId, result);
    const mark = { succeeded: '✓', cached: '✓', failed: '✗', cancelled: '⊘', skipped: '·', unchecked: '?' }[result.state];
    request.say(`${mark} ${result.name} ${result.state}${result.state === 'succeeded' || result.state === 'failed' || result.state === 'unchecked' ? ` (${(result.durationMs / 1000).toFixed(1)}s)` : ''}${result.detail ? `: ${result.detail.split('\n')[0]}` : ''}`);
    if (result.state === 'failed' && result.detail?.includes('\n')) request.say(result.detail.split('\n').slice(1).map((l) => `    | ${l}`).join('\n'));
  };
  // Absent tools (no lint script) do not hold back what comes after; failures do.
  const satisfied = (name: string) => {
    const r = results.get(name);
    return r !== undefined && (r.state === 'succeeded' || r.state === 'cached' || r.state === 'unchecked' || (r.state === 'skipped' && !r.detail?.startsWith('needs ')));
  };
  const blockedBy = (stage: PlannedStage) => stage.needs.find((n) => results.has(n) && !satisfied(n));

  const start = (stage: PlannedStage, key: string) => {
    const logFile = join(request.logDir, `${stage.name}.log`);
    const log = createWriteStream(logFile, { mode: 0o600 });
    const startedAt = Date.now();
    const timeoutMs = parseDurationMs(stage.timeout)!;
    request.say(`→ ${stage.name}  ${stage.run}`);
    const child = spawn('/bin/sh', ['-c', stage.run], { cwd: request.projectDir, env: request.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child.stdout!.pipe(log, { end: false });
    child.stderr!.pipe(log, { end: false });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      kill(child);
    }, timeoutMs);
    const done = new Promise<void>((resolve) => {
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        log.end(() => {
          running.delete(stage.name);
          const durationMs = Date.now() - startedAt;
          const base = { name: stage.name, cached: false, durationMs, logFile, inputKey: key };
          if (code === 0) finish({ ...base, state: 'succeeded', detail: null });
          // Exit 13 (ferry scan when a tool could not scan): nothing failed, nothing was checked either. Shown, stored, never cached.
          else if (code === ExitCode.nothingChecked && !timedOut) finish({ ...base, state: 'unchecked', detail: tailOf(logFile).split('\n').filter((l) => /not scanned|nothing/i.test(l)).pop() ?? `exit ${code}: checked nothing` });
          else if (stopping && !timedOut) finish({ ...base, state: 'cancelled', detail: `stopped: ${stopping} failed (fail_fast)` });
          else {
            const why = timedOut ? `timed out after ${stage.timeout}` : code !== null ? `exit ${code}` : `killed by ${signal}`;
            finish({ ...base, state: 'failed', detail: `${why}; log ${logFile}\n${tailOf(logFile)}`.trimEnd() });
            if (request.failFast && !stopping) {
              stopping = stage.name;
              for (const other of running.values()) kill(other.child);
            }
          }
          resolve();
        });
      });
    });
    running.set(stage.name, { child, done });
  };

  // Each stage's key once: the inputs do not change while the pipeline decides.
  const keys = new Map(request.stages.map((s) => [s.name, inputKey(request.projectDir, request.files, s, hash)]));
  // Ready stages start longest-path-first, from each stage's duration in its last run.
  const pending = byCriticalPath(request.stages, request.store.lastDurations());
  while (pending.length > 0 || running.size > 0) {
    for (let i = 0; i < pending.length; i++) {
      const stage = pending[i];
      const key = keys.get(stage.name)!;
      const base = { name: stage.name, cached: false, durationMs: 0, logFile: null, inputKey: key };
      let settled: StageResult | undefined;
      if (stopping) settled = { ...base, state: 'cancelled', detail: `not started: ${stopping} failed (fail_fast)` };
      else if (blockedBy(stage)) settled = { ...base, state: 'skipped', detail: `needs ${blockedBy(stage)}, which did not succeed` };
      else if (!stage.needs.every((n) => results.has(n))) continue; // waits for its needs
      else if (stage.skip) settled = { ...base, state: 'skipped', detail: stage.skip };
      else {
        const green = request.useCache ? request.store.greenRun(stage.name, key) : undefined;
        if (green) settled = { ...base, state: 'cached', cached: true, detail: `inputs unchanged since run #${green.runId}` };
        else if (running.size >= request.concurrency) continue;
      }
      if (settled) finish(settled);
      else start(stage, key);
      pending.splice(i, 1);
      i--;
    }
    if (running.size > 0) await Promise.race([...running.values()].map((r) => r.done));
    else if (pending.length > 0 && !pending.some((s) => s.needs.every((n) => results.has(n)) || blockedBy(s) || stopping)) {
      throw new Error(`stages wait for each other: ${pending.map((s) => s.name).join(', ')}`);
    }
  }
  return request.stages.map((s) => results.get(s.name)!);
}

function kill(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGTERM');
  } catch {
    child.kill('SIGTERM');
  }
  setTimeout(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }, 5000).unref();
}
