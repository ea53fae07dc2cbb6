import type { Dashboard, Panel } from '@grafana/schema';

/** The data source every panel names: provisioned with this fixed uid, so dashboards never depend on Grafana's ids. */
export const DATASOURCE = { type: 'prometheus', uid: 'ferry-prometheus' } as const;

let nextId = 1;

function timeseries(title: string, unit: string, targets: Array<{ expr: string; legend: string }>, grid: { x: number; y: number; w?: number; h?: number }): Panel {
  return {
    id: nextId++,
    type: 'timeseries',
    title,
    datasource: DATASOURCE,
    gridPos: { x: grid.x, y: grid.y, w: grid.w ?? 12, h: grid.h ?? 8 },
    fieldConfig: { defaults: { unit }, overrides: [] },
    options: {},
    targets: targets.map((t, i) => ({ refId: String.fromCharCode(65 + i), datasource: DATASOURCE, expr: t.expr, legendFormat: t.legend })),
  };
}

function stat(title: string, unit: string, expr: string, grid: { x: number; y: number }): Panel {
  return {
    id: nextId++,
    type: 'stat',
    title,
    datasource: DATASOURCE,
    gridPos: { x: grid.x, y: grid.y, w: 6, h: 5 },
    fieldConfig: { defaults: { unit, noValue: 'no data' }, overrides: [] },
    options: { reduceOptions: { calcs: ['lastNotNull'] } },
    targets: [{ refId: 'A', datasource: DATASOURCE, expr, legendFormat: '{{environment}}' }],
  };
}

const environmentVariable = {
  name: 'environment',
  type: 'query' as const,
  label: 'environment',
  datasource: DATASOURCE,
  query: 'label_values(ferry_serving_release_info, environment)',
  refresh: 1,
  current: { text: 'production', value: 'production' },
};

const base = (uid: string, title: string, panels: Panel[]): Dashboard => ({
  uid,
  title,
  tags: ['ferry'],
  editable: true,
  schemaVersion: 39,
  time: { from: 'now-6h', to: 'now' },
  refresh: '30s',
  templating: { list: [environmentVariable] },
  panels,
});

const sel = 'environment="$environment"';

/** Rate, errors and duration per release, from the router: a bad release stands out beside the one before it. */
export function redDashboard(): Dashboard {
  return base('ferry-red', 'ferry: requests per release', [
    timeseries('Requests per second', 'reqps', [{ expr: `sum by (release) (rate(http_requests_total{${sel}}[$__rate_interval]))`, legend: '{{release}}' }], { x: 0, y: 0 }),
    timeseries('Error ratio (5xx)', 'percentunit', [{ expr: `sum by (release) (rate(http_requests_total{${sel},code="5xx"}[$__rate_interval])) / sum by (release) (rate(http_requests_total{${sel}}[$__rate_interval]))`, legend: '{{release}}' }], { x: 12, y: 0 }),
    timeseries(
      'Latency p50 / p95 / p99',
      's',
      [0.5, 0.95, 0.99].map((q) => ({ expr: `histogram_quantile(${q}, sum by (le, release) (rate(http_request_duration_seconds_bucket{${sel}}[$__rate_interval])))`, legend: `p${q * 100} {{release}}` })),
      { x: 0, y: 8, w: 24 },
    ),
    timeseries('Router answered itself (502 / 503 / 504)', 'reqps', [{ expr: `sum by (kind) (rate(ferry_router_upstream_failures_total{${sel}}[$__rate_interval]))`, legend: '{{kind}}' }], { x: 0, y: 16 }),
    timeseries('Serving release', 'none', [{ expr: `ferry_serving_release_info{${sel}}`, legend: '{{release}}' }], { x: 12, y: 16 }),
  ]);
}

/** DORA's four keys over 30 days (from the agent; absent where there is no data, drawn as no data). */
export function doraDashboard(): Dashboard {
  return base('ferry-dora', "ferry: DORA's four keys", [
    stat('Deployment frequency (per day, 30 days)', 'none', `ferry_dora_deployment_frequency_per_day{${sel}}`, { x: 0, y: 0 }),
    stat('Lead time for changes (median)', 's', `ferry_dora_lead_time_seconds{${sel}}`, { x: 6, y: 0 }),
    stat('Change failure rate', 'percentunit', `ferry_dora_change_failure_ratio{${sel}}`, { x: 12, y: 0 }),
    stat('Failed deployment recovery time (median)', 's', `ferry_dora_recovery_time_seconds{${sel}}`, { x: 18, y: 0 }),
    timeseries('Deployments by outcome', 'none', [{ expr: `sum by (outcome) (increase(ferry_deployments_total{${sel}}[1d]))`, legend: '{{outcome}}' }], { x: 0, y: 5 }),
    timeseries('Deployment duration p95', 's', [{ expr: `histogram_quantile(0.95, sum by (le) (rate(ferry_deployment_duration_seconds_bucket{${sel}}[1d])))`, legend: 'p95' }], { x: 12, y: 5 }),
    timeseries('Change failure rate and frequency, trend', 'none', [
      { expr: `ferry_dora_change_failure_ratio{${sel}}`, legend: 'change failure rate' },
      { expr: `ferry_dora_deployment_frequency_per_day{${sel}}`, legend: 'deploys per day' },
    ], { x: 0, y: 13, w: 24 }),
  ]);
}

/** The host (node-exporter) and the containers (cAdvisor). */
export function hostDashboard(): Dashboard {
  return base('ferry-host', 'ferry: host and containers', [
    timeseries('CPU busy', 'percentunit', [{ expr: '1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[$__rate_interval]))', legend: '{{instance}}' }], { x: 0, y: 0 }),
    timeseries('Memory used', 'percentunit', [{ expr: '1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes', legend: '{{instance}}' }], { x: 12, y: 0 }),
    timeseries('Disk I/O', 'Bps', [
      { expr: 'sum by (instance) (rate(node_disk_read_bytes_total[$__rate_interval]))', legend: 'read {{instance}}' },
      { expr: 'sum by (instance) (rate(node_disk_written_bytes_total[$__rate_interval]))', legend: 'written {{instance}}' },
    ], { x: 0, y: 8 }),
    timeseries('Network', 'Bps', [
      { expr: 'sum by (instance) (rate(node_network_receive_bytes_total{device!="lo"}[$__rate_interval]))', legend: 'in {{instance}}' },
      { expr: 'sum by (instance) (rate(node_network_transmit_bytes_total{device!="lo"}[$__rate_interval]))', legend: 'out {{instance}}' },
    ], { x: 12, y: 8 }),
    timeseries('Container CPU', 'percentunit', [{ expr: 'sum by (name) (rate(container_cpu_usage_seconds_total{name!=""}[$__rate_interval]))', legend: '{{name}}' }], { x: 0, y: 16 }),
    timeseries('Container memory', 'bytes', [{ expr: 'sum by (name) (container_memory_working_set_bytes{name!=""})', legend: '{{name}}' }], { x: 12, y: 16 }),
  ]);
}

export const DASHBOARDS = { red: redDashboard, dora: doraDashboard, host: hostDashboard };
