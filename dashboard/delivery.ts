// Delivery: DORA's four keys over a chosen period with their performance level and a trend chart each
// (uPlot), then latency, error ratio and throughput per release from the router's counters. A period
// without data is drawn as a gap and said as "no data", never as 0.
import { Charts } from './charts.js';
import { $, duration, el, getJson, stateText, table } from './dom.js';

type Measured = { value: number; level?: string; [key: string]: unknown } | { noData: string };
interface MetricsPayload {
  period: string;
  deploymentFrequency: Measured;
  leadTime: Measured;
  changeFailureRate: Measured;
  recoveryTime: Measured;
  uptime: Measured;
  releases: Array<{ release: string; requests: number; throughput: Measured; errorRatio: Measured; p50Seconds: Measured; p95Seconds: Measured; p99Seconds: Measured }>;
}
interface TrendPoint { since: number; until: number; deploymentsPerDay: number | null; leadTimeMs: number | null; changeFailureRate: number | null; recoveryTimeMs: number | null }

const KEYS = [
  { key: 'deploymentFrequency', trend: 'deploymentsPerDay', title: 'Deployment frequency', format: (v: number) => `${v.toFixed(2)} / day` },
  { key: 'leadTime', trend: 'leadTimeMs', title: 'Lead time for changes', format: (v: number) => duration(v) },
  { key: 'changeFailureRate', trend: 'changeFailureRate', title: 'Change failure rate', format: (v: number) => `${(v * 100).toFixed(1)} %` },
  { key: 'recoveryTime', trend: 'recoveryTimeMs', title: 'Failed deployment recovery time', format: (v: number) => duration(v) },
] as const;

const charts = new Charts();

const shown = (measured: Measured, format: (v: number) => string) => ('value' in measured ? format(measured.value) : 'no data');

function cell(measured: Measured, format: (v: number) => string): HTMLElement {
  return 'value' in measured ? el('span', format(measured.value)) : el('span', 'no data', 'nodata');
}

export async function renderDelivery(env: string, period: string): Promise<void> {
  const target = $('delivery-body');
  charts.clear();
  try {
    const query = `env=${encodeURIComponent(env)}&since=${encodeURIComponent(period)}`;
    const [metrics, trend] = await Promise.all([getJson<MetricsPayload>(`/api/metrics?${query}`), getJson<{ points: TrendPoint[] }>(`/api/metrics/trend?${query}&buckets=12`)]);
    const tiles = el('div', null, 'tiles');
    for (const { key, title, format } of KEYS) {
      const measured = metrics[key];
      const tile = el('section', null, 'tile');
      tile.dataset.key = key;
      tile.setAttribute('aria-label', title);
      tile.append(el('h3', title), el('p', shown(measured, format), 'value' in measured ? 'figure' : 'figure nodata'));
      tile.append(el('p', 'value' in measured ? `level: ${measured.level ?? 'not rated'}` : measured.noData, 'level'));
      tiles.append(tile);
    }
    const uptime = metrics.uptime;
    const uptimeTile = el('section', null, 'tile');
    uptimeTile.setAttribute('aria-label', 'Uptime');
    uptimeTile.append(el('h3', 'Uptime (probes)'), el('p', shown(uptime, (v) => `${(v * 100).toFixed(2)} %`), 'value' in uptime ? 'figure' : 'figure nodata'), el('p', 'value' in uptime ? `${String(uptime.probes)} probes` : uptime.noData, 'level'));
    tiles.append(uptimeTile);
    const trends = el('div', null, 'charts');
    target.replaceChildren(tiles, el('h3', `Trend over ${metrics.period}, 12 periods`), trends);
    const times = trend.points.map((p) => p.until / 1000);
    for (const { trend: field, title, format } of KEYS) {
      const values = trend.points.map((p) => p[field]);
      const describe = values.map((v, i) => `${new Date(trend.points[i].until).toLocaleDateString()} ${v === null ? 'no data' : format(v)}`).join('; ');
      charts.draw(trends, { title: `${title}, per period`, times, lines: [{ label: title, values }], format, describe });
    }
    const seconds = (v: number) => `${(v * 1000).toFixed(1)} ms`;
    // A bad release stands out: over 1 % errors, or a p99 over twice the best release's.
    const p99s = metrics.releases.flatMap((r) => ('value' in r.p99Seconds ? [r.p99Seconds.value] : []));
    const bestP99 = p99s.length ? Math.min(...p99s) : Infinity;
    const flagged = (measured: Measured, format: (v: number) => string, bad: (v: number) => boolean) => ('value' in measured && bad(measured.value) ? stateText(format(measured.value), false) : cell(measured, format));
    target.append(
      el('h3', 'Per release, from the router (since it started counting)'),
      metrics.releases.length === 0
        ? el('p', 'no data: the router has counted no request of this environment', 'nodata')
        : table(
            ['release', 'requests', 'throughput', 'error ratio', 'p50', 'p95', 'p99'],
            metrics.releases.map((r) => [r.release, String(r.requests), cell(r.throughput, (v) => `${v.toFixed(1)} /s`), flagged(r.errorRatio, (v) => `${(v * 100).toFixed(2)} %`, (v) => v > 0.01), cell(r.p50Seconds, seconds), cell(r.p95Seconds, seconds), flagged(r.p99Seconds, seconds, (v) => p99s.length > 1 && v > 2 * bestP99)]),
            'requests per release',
          ),
    );
  } catch (error) {
    target.replaceChildren(el('p', `the delivery metrics could not be read: ${(error as Error).message}`, 'bad'));
  }
}
