import type { DoraReport, Measured } from '../metrics/dora.js';
import type { HostSnapshot } from '../metrics/host.js';
import type { ReleaseRed } from '../metrics/red.js';
import type { IncidentRecord } from '../store/delivery.js';
import { agentGet, agentPost } from '../agent/client.js';
import { connect } from './read-commands.js';
import type { Io } from './output.js';

type MetricsBody = DoraReport & { env: string; since: number; until: number; period: string; uptime: Measured<number> & { probes?: number; healthy?: number }; requestsSince: number | null; releases: ReleaseRed[]; host: HostSnapshot };

const percent = (ratio: number, digits: number) => `${(ratio * 100).toFixed(digits)}%`;
const kb = (bytesPerSecond: number | undefined) => `${((bytesPerSecond ?? 0) / 1024).toFixed(0)} KB/s`;

const hours = (ms: number) => (ms < 3_600_000 ? `${Math.round(ms / 60_000)} min` : ms < 172_800_000 ? `${(ms / 3_600_000).toFixed(1)} h` : `${(ms / 86_400_000).toFixed(1)} days`);

/** One line per key: the value and what it is made of, its DORA level; or "no data" and why. */
export function doraLines(report: DoraReport): string[] {
  const row = (name: string, key: keyof DoraReport, text: (value: Record<string, number>) => string) => {
    const measured = report[key] as Record<string, unknown>;
    if ('noData' in measured) return `${name.padEnd(24)}no data: ${measured.noData}`;
    return `${name.padEnd(24)}${text(measured as Record<string, number>).padEnd(44)}${measured.level}`;
  };
  return [
    row('deployment frequency', 'deploymentFrequency', (m) => `${m.perDay.toFixed(2)}/day (${m.deploys} deploys in ${m.days.toFixed(1)} days)`),
    row('lead time for changes', 'leadTime', (m) => `${hours(m.value)} (median of ${m.commits} commits)`),
    row('change failure rate', 'changeFailureRate', (m) => `${(m.value * 100).toFixed(1)}% (${m.failed} of ${m.deploys} deploys)`),
    row('recovery time', 'recoveryTime', (m) => `${hours(m.value)} (median of ${m.recoveries} recoveries${m.unrecovered ? `, ${m.unrecovered} not yet` : ''})`),
  ];
}

export async function metrics(io: Io, projectDir: string, options: { env: string; since: string }): Promise<number> {
  const agent = await connect(io, projectDir, options.env);
  const params = new URLSearchParams({ env: options.env, since: options.since });
  const body = await agentGet<MetricsBody>(agent, `/api/metrics?${params}`);
  if (io.json) return io.out(JSON.stringify(body, null, 2)), 0;
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  io.out(`${body.env}, the last ${body.period} (${day(body.since)} → ${day(body.until)}): DORA's four keys`);
  for (const line of doraLines(body)) io.out(`  ${line}`);
  const failures = 'failures' in body.changeFailureRate ? (body.changeFailureRate.failures ?? []) : [];
  for (const f of failures) io.out(`    deployment ${f.deploymentId} (${f.releaseId}): ${f.why}${f.restoredAt ? `; restored by deployment ${f.restoredBy} after ${hours(f.restoredAt - f.failedAt)}` : '; not restored yet'}`);
  io.out('  levels: DORA, Accelerate State of DevOps Report 2023 (see docs/metrics.md)');
  io.out(`service`);
  io.out(`  uptime                ${'noData' in body.uptime ? `no data: ${body.uptime.noData}` : `${percent(body.uptime.value, 3)} (${body.uptime.healthy} of ${body.uptime.probes} health probes through the router)`}`);
  io.out(`  per release, through the router in the period${body.requestsSince ? ` (sampled since ${new Date(body.requestsSince).toISOString()})` : ''}:`);
  if (!body.releases.length) io.out('    no data: the agent sampled no request to this environment, and no release serving it, in the period');
  for (const r of body.releases) {
    const ms = (m: Measured<number>) => ('noData' in m ? `no data (${m.noData})` : `${(m.value * 1000).toFixed(1)} ms`);
    io.out(`    ${r.release.padEnd(6)} ${String(r.requests).padStart(8)} requests  ${'noData' in r.throughput ? 'no data' : `${r.throughput.value.toFixed(2)}/s`}  errors ${'noData' in r.errorRatio ? 'no data' : percent(r.errorRatio.value, 2)}  p50 ${ms(r.p50Seconds)}  p95 ${ms(r.p95Seconds)}  p99 ${ms(r.p99Seconds)}`);
  }
  const h = body.host;
  const show = (m: Measured<number>, text: (v: number) => string) => ('noData' in m ? `no data (${m.noData})` : text(m.value));
  io.out(`host (a ${h.sampleMs / 1000}s sample)`);
  io.out(`  cpu ${show(h.cpuBusyRatio, (v) => percent(v, 1))}  memory ${show(h.memory, (v) => `${percent(v, 1)} of ${((h.memory.totalBytes ?? 0) / 2 ** 30).toFixed(1)} GiB`)}  disk ${show(h.diskBytesPerSecond, () => `${kb(h.diskBytesPerSecond.read)} read, ${kb(h.diskBytesPerSecond.written)} written`)}  network ${show(h.networkBytesPerSecond, () => `${kb(h.networkBytesPerSecond.received)} in, ${kb(h.networkBytesPerSecond.sent)} out`)}`);
  return 0;
}

const describeIncident = (i: IncidentRecord) =>
  `incident ${i.id} in ${i.env}: ${i.title} (blames deployment ${i.deploymentId}; ${i.source}; opened ${new Date(i.openedAt).toISOString()}${i.closedAt ? `, closed ${new Date(i.closedAt).toISOString()}` : ', open'})`;

export async function incidentOpen(io: Io, projectDir: string, env: string, options: { deployment?: number; title?: string }): Promise<number> {
  const agent = await connect(io, projectDir, env);
  const incident = await agentPost<IncidentRecord>(agent, '/api/incidents', { env, deploymentId: options.deployment, title: options.title });
  io.out(io.json ? JSON.stringify(incident, null, 2) : `opened ${describeIncident(incident)}`);
  return 0;
}

export async function incidentClose(io: Io, projectDir: string, id: number): Promise<number> {
  const agent = await connect(io, projectDir);
  const incident = await agentPost<IncidentRecord>(agent, `/api/incidents/${id}/close`, {});
  io.out(io.json ? JSON.stringify(incident, null, 2) : `closed ${describeIncident(incident)}`);
  return 0;
}

export async function incidentList(io: Io, projectDir: string, env: string | undefined): Promise<number> {
  const agent = await connect(io, projectDir, env);
  const body = await agentGet<{ incidents: IncidentRecord[] }>(agent, `/api/incidents${env ? `?env=${encodeURIComponent(env)}` : ''}`);
  if (io.json) return io.out(JSON.stringify(body, null, 2)), 0;
  if (!body.incidents.length) io.out('no incidents');
  for (const incident of body.incidents) io.out(describeIncident(incident));
  return 0;
}
