import type { DeployEvent, DeployResult } from '../deploy/events.js';
import type { EnvironmentStatus } from '../agent/status.js';
import type { DeploymentRecord } from '../store/records.js';
import { FerryError } from '../util/errors.js';
import { formatMs } from '../util/duration.js';

export interface Io {
  json: boolean;
  out: (text: string) => void;
  err: (text: string) => void;
}

export const consoleIo = (json: boolean): Io => ({
  json,
  out: (text) => process.stdout.write(text + '\n'),
  err: (text) => process.stderr.write(text + '\n'),
});

/** Progress goes to stdout for people, to stderr when stdout carries JSON. */
export const progress = (io: Io) => (io.json ? io.err : io.out);

export function printError(io: Io, error: unknown): void {
  const e = error instanceof FerryError ? error : new FerryError({ code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) });
  if (io.json) return io.out(JSON.stringify({ error: e.toJSON() }, null, 2));
  io.err(`ferry: ${e.message}`);
  for (const line of e.details) io.err(`  ${line}`);
  if (e.hint) io.err(`  hint: ${e.hint}`);
}

const MARK = { running: '→', succeeded: '✓', failed: '✗', skipped: '·', compensated: '↺' } as const;

export function printDeployEvent(say: (text: string) => void, event: DeployEvent): void {
  switch (event.type) {
    case 'deployment':
      return say(`${event.kind} #${event.deploymentId} of ${event.env}: ${event.steps.join(' → ')}`);
    case 'step': {
      const name = event.phase === 'undo' ? `undo ${event.step}` : event.step;
      if (event.state === 'running') return say(`${MARK.running} ${name}`);
      // A failed step's message comes once, in the failure report that follows (with its hint, logs and probes).
      const detail = event.state === 'failed' && event.phase === 'run' ? undefined : event.detail;
      return say(`${MARK[event.state]} ${name}${event.ms !== undefined ? ` (${formatMs(event.ms)})` : ''}${detail ? `  ${detail}` : ''}`);
    }
    case 'progress':
      return say(`    ${event.message}`);
    case 'note':
      return say(event.message);
    case 'failure':
      say(`\nstep ${event.step} failed: ${event.message}`);
      if (event.hint) say(`  hint: ${event.hint}`);
      if (event.logs.length) say(`  last log lines of ${event.instance}:\n${event.logs.map((l) => `    | ${l}`).join('\n')}`);
      if (event.probes.length) say(`  health checks${event.instance ? ` of ${event.instance}` : ''}:\n${event.probes.map((p) => `    ${p}`).join('\n')}`);
      return say('');
    case 'result':
      return;
  }
}

export function describeResult(result: DeployResult): string {
  const what = `${result.kind} #${result.deploymentId} of ${result.env}`;
  switch (result.outcome) {
    case 'succeeded':
      return `${what} succeeded: ${result.release} (${result.commit?.slice(0, 12)}) is serving`;
    case 'halted':
      return `${what} halted at ${result.failedStep}; ${result.serving ? `${result.serving} is still serving` : 'nothing was serving before, nothing is serving now'} (exit 1)`;
    case 'rolled_back':
      return `${what} rolled back at ${result.failedStep}; ${result.serving} is serving again (exit 1)`;
    case 'failed':
      return `${what} FAILED at ${result.failedStep} and needs a person: ${result.serving ? `${result.serving} serves` : 'nothing healthy is serving'} (exit 3). Try \`ferry rollback ${result.env}\`.`;
  }
}

/** The pid that listens, when it is not the command's own (a wrapper's child), or who else holds the port. */
function listening(i: EnvironmentStatus['instances'][number]): string {
  const l = i.listener;
  if (l === undefined) return '';
  if (l === null) return '  (nothing listens on its port)';
  if (!l.ours) return `  PORT ${i.port} HELD BY pid ${l.pid} (${l.command}), not this instance's: stop that process`;
  return l.pid === i.pid ? '' : `  listening: pid ${l.pid} (${l.command})`;
}

export function printStatus(io: Io, statuses: EnvironmentStatus[]): void {
  for (const s of statuses) {
    io.out(`${s.env}  ${s.url}  (${s.strategy})`);
    const routed = s.routed.release;
    const why = s.routed.state === 'starting' ? `${routed} is starting again; requests are held until it is healthy` : `${routed} is routed, but none of its instances is healthy`;
    const what = s.serving && `${s.serving.id}  ${s.serving.commit.slice(0, 12)}  ${s.serving.branch ?? s.serving.ref}${s.serving.subject ? `  "${s.serving.subject}"` : ''}`;
    io.out(`  serving: ${what ?? (routed ? `nothing (${why})` : 'nothing')}`);
    const answered = s.router.upstreamTimeouts + s.router.upstreamErrors + s.router.unavailable;
    if (answered > 0) io.out(`  router answered itself: ${s.router.upstreamTimeouts} upstream timeouts (504), ${s.router.upstreamErrors} upstream errors (502), ${s.router.unavailable} with nothing to route to (503)`);
    for (const i of s.instances) {
      const where = i.container ? `container ${i.container.id}  ${i.container.image}${i.container.health ? `  docker health ${i.container.health}` : ''}` : `${i.state === 'exited' ? 'not running' : i.pid > 0 ? `pid ${i.pid}` : 'not started'}${listening(i)}`;
      io.out(`  instance ${i.id}  :${i.port}  ${where}  ${i.state}  ${i.healthy ? 'healthy' : i.state === 'starting' ? `not yet healthy (${i.health})` : `unhealthy (${i.health})`}${i.restarts ? `  restarts ${i.restarts}` : ''}`);
    }
    for (const line of s.data) io.out(`  data: ${line}`);
    for (const warning of s.warnings ?? []) io.out(`  warning: ${warning}`);
    const d = s.lastDeployment;
    io.out(`  last deployment: ${d ? `#${d.id} ${kindOf(d)} ${d.release ?? ''} ${d.state} at ${d.startedAt}${d.error ? ` (${d.error})` : ''}` : 'none'}`);
    if (s.lock) io.out(`  locked by deployment #${s.lock.deploymentId} since ${s.lock.since}`);
  }
}

/** What a deployment did: a promotion names its source, as history records it. */
const kindOf = (d: { kind: string; promotedFrom?: { env: string; release: string } }) => (d.promotedFrom ? `promote (of ${d.promotedFrom.env} ${d.promotedFrom.release})` : d.kind);

export function printHistory(io: Io, deployments: DeploymentRecord[]): void {
  if (deployments.length === 0) return io.out('no deployments yet');
  for (const d of deployments) {
    const took = d.finishedAt ? formatMs(d.finishedAt - d.startedAt) : 'running';
    const commit = d.release ? `  ${d.release.commit.slice(0, 8)}${d.release.branch ? ` ${d.release.branch}` : ''}${d.release.subject ? ` "${d.release.subject}"` : ''}` : '';
    io.out(`#${d.id}  ${d.env}  ${kindOf(d)}  ${d.releaseId ?? '-'}  ${d.state}  ${new Date(d.startedAt).toISOString()}  ${took}${d.previousReleaseId ? `  (from ${d.previousReleaseId})` : ''}${commit}`);
    for (const s of d.steps ?? []) {
      const name = s.phase === 'undo' ? `undo ${s.name}` : s.name;
      io.out(`    ${MARK[s.state as keyof typeof MARK] ?? s.state} ${name.padEnd(17)} ${s.durationMs === null ? '' : formatMs(s.durationMs).padStart(7)}  ${s.detail ?? ''}`);
    }
    for (const warning of d.warnings ?? []) io.out(`    warning: ${warning}`);
    if (d.error) io.out(`    error: ${d.error}`);
  }
}
