// Each release over time: p99 and p50 latency, error ratio and request rate per release, from the agent's
// samples of the router's counters (GET /api/metrics/traffic). A release that did not serve in a period is a
// gap there; a period the agent did not sample is a gap for all.
import { Charts, type Line } from './charts.js';
import { $, el, getJson } from './dom.js';

interface ReleaseTraffic { release: string; requests: number; requestsPerSecond: Array<number | null>; errorRatio: Array<number | null>; p50Seconds: Array<number | null>; p99Seconds: Array<number | null> }
interface TrafficPayload { period: string; stepSeconds: number; sampleSeconds: number; times: number[]; sampledSeconds: number[]; releases: ReleaseTraffic[] }

/** The releases a chart shows at most (the newest): more lines than this cannot be told apart. */
const SHOWN = 6;

const charts = new Charts();

const releaseNumber = (release: string) => Number(release.replace(/\D/g, '') || -1);

function describe(lines: Line[], format: (v: number) => string): string {
  return lines
    .map((line) => {
      const values = line.values.filter((v): v is number => v !== null);
      if (!values.length) return `${line.label}: no data`;
      return `${line.label}: latest ${format(values.at(-1)!)}, highest ${format(Math.max(...values))}, ${line.values.length - values.length} of ${line.values.length} periods no data`;
    })
    .join('; ');
}

/** Draws the charts; the seconds until the next sample is worth reading (undefined when it could not read). */
export async function renderTraffic(env: string, range: string): Promise<number | undefined> {
  const target = $('traffic-body');
  try {
    const traffic = await getJson<TrafficPayload>(`/api/metrics/traffic?env=${encodeURIComponent(env)}&since=${encodeURIComponent(range)}&points=120`);
    charts.clear();
    const releases = [...traffic.releases].sort((a, b) => releaseNumber(b.release) - releaseNumber(a.release)).slice(0, SHOWN);
    const note = el('p', `${traffic.stepSeconds} s per point; the agent samples every ${traffic.sampleSeconds} s.${traffic.releases.length > SHOWN ? ` The newest ${SHOWN} of ${traffic.releases.length} releases.` : ''}`, 'detail');
    if (!traffic.sampledSeconds.some((s) => s > 0)) {
      target.replaceChildren(note, el('p', `no data: the agent has no sample of ${env} in the last ${traffic.period} (it samples while a release serves)`, 'nodata'));
      return traffic.sampleSeconds;
    }
    const box = el('div', null, 'charts');
    target.replaceChildren(note, box);
    const ms = (v: number) => `${(v * 1000).toFixed(1)} ms`;
    const percent = (v: number) => `${(v * 100).toFixed(2)} %`;
    const rate = (v: number) => `${v.toFixed(1)} /s`;
    const views: Array<{ title: string; field: 'p99Seconds' | 'p50Seconds' | 'errorRatio' | 'requestsPerSecond'; format: (v: number) => string; floor: number }> = [
      { title: 'p99 latency by release', field: 'p99Seconds', format: ms, floor: 0.01 },
      { title: 'p50 latency by release', field: 'p50Seconds', format: ms, floor: 0.01 },
      { title: 'Error ratio (5xx) by release', field: 'errorRatio', format: percent, floor: 0.01 },
      { title: 'Requests per second by release', field: 'requestsPerSecond', format: rate, floor: 1 },
    ];
    for (const { title, field, format, floor } of views) {
      const lines = releases.map((r) => ({ label: r.release, values: r[field] }));
      charts.draw(box, { title, times: traffic.times, lines, format, floor, describe: describe(lines, format) });
    }
    return traffic.sampleSeconds;
  } catch (error) {
    target.replaceChildren(el('p', `the traffic over time could not be read: ${(error as Error).message}`, 'bad'));
    return undefined;
  }
}
