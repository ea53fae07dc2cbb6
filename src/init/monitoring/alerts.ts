import { stringify } from 'yaml';

/**
 * One alert rule and the `promtool test rules` case that proves it fires: both written from the same data,
 * so no alert ships untested.
 */
interface Alert {
  alert: string;
  expr: string;
  for: string;
  severity: 'page' | 'ticket';
  summary: string;
  /** Series that make it fire, and the labels the firing alert carries (besides severity). */
  test: { series: Array<{ series: string; values: string }>; evalTime: string; labels: Record<string, string> };
}

export const ALERTS: Alert[] = [
  {
    alert: 'ServiceDown',
    expr: 'up{job=~"app-.+|ferry-agent"} == 0',
    for: '1m',
    severity: 'page',
    summary: '{{ $labels.job }} at {{ $labels.instance }} does not answer its scrape',
    test: { series: [{ series: 'up{job="app-production",instance="127.0.0.1:3000",environment="production"}', values: '0x10' }], evalTime: '5m', labels: { job: 'app-production', instance: '127.0.0.1:3000', environment: 'production' } },
  },
  {
    alert: 'HighErrorRatio',
    expr: 'sum by (environment, release) (rate(http_requests_total{code="5xx"}[5m])) / sum by (environment, release) (rate(http_requests_total[5m])) > 0.01',
    for: '5m',
    severity: 'page',
    summary: '{{ $labels.environment }} {{ $labels.release }}: more than 1% of requests answer 5xx',
    test: {
      series: [
        { series: 'http_requests_total{environment="production",release="r7",code="2xx"}', values: '0+950x20' },
        { series: 'http_requests_total{environment="production",release="r7",code="5xx"}', values: '0+50x20' },
      ],
      evalTime: '15m',
      labels: { environment: 'production', release: 'r7' },
    },
  },
  {
    alert: 'HighLatencyP95',
    expr: 'histogram_quantile(0.95, sum by (le, environment, release) (rate(http_request_duration_seconds_bucket[5m]))) > 0.5',
    for: '10m',
    severity: 'ticket',
    summary: '{{ $labels.environment }} {{ $labels.release }}: p95 latency above 500 ms',
    test: {
      series: [
        { series: 'http_request_duration_seconds_bucket{environment="production",release="r7",le="0.25"}', values: '0+10x30' },
        { series: 'http_request_duration_seconds_bucket{environment="production",release="r7",le="1"}', values: '0+100x30' },
        { series: 'http_request_duration_seconds_bucket{environment="production",release="r7",le="+Inf"}', values: '0+100x30' },
      ],
      evalTime: '20m',
      labels: { environment: 'production', release: 'r7' },
    },
  },
  {
    alert: 'DeployFailed',
    expr: 'sum by (environment, outcome) (increase(ferry_deployments_total{outcome=~"rolled_back|halted|failed"}[15m])) > 0',
    for: '0m',
    severity: 'ticket',
    summary: 'a deploy to {{ $labels.environment }} ended {{ $labels.outcome }}',
    test: {
      series: [{ series: 'ferry_deployments_total{environment="production",kind="deploy",outcome="rolled_back"}', values: '0 0 0 1 1 1' }],
      evalTime: '4m',
      labels: { environment: 'production', outcome: 'rolled_back' },
    },
  },
  {
    alert: 'MigrationFailed',
    expr: 'sum by (environment) (increase(ferry_migration_runs_total{result="failed"}[15m])) > 0',
    for: '0m',
    severity: 'page',
    summary: 'a migration failed in {{ $labels.environment }}: later deploys stop at the migrate step until `ferry migrate resolve`',
    test: { series: [{ series: 'ferry_migration_runs_total{environment="production",result="failed"}', values: '0 0 1 1' }], evalTime: '3m', labels: { environment: 'production' } },
  },
  {
    alert: 'HostCpuHigh',
    expr: '1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m])) > 0.9',
    for: '15m',
    severity: 'ticket',
    summary: '{{ $labels.instance }}: CPU above 90% for 15 minutes',
    test: { series: [{ series: 'node_cpu_seconds_total{instance="host:9100",cpu="0",mode="idle"}', values: '0+3x40' }], evalTime: '30m', labels: { instance: 'host:9100' } },
  },
  {
    alert: 'HostMemoryHigh',
    expr: '1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes > 0.9',
    for: '10m',
    severity: 'ticket',
    summary: '{{ $labels.instance }}: memory above 90%',
    test: {
      series: [
        { series: 'node_memory_MemAvailable_bytes{instance="host:9100"}', values: '50x20' },
        { series: 'node_memory_MemTotal_bytes{instance="host:9100"}', values: '1000x20' },
      ],
      evalTime: '15m',
      labels: { instance: 'host:9100' },
    },
  },
  {
    alert: 'HostDiskAlmostFull',
    expr: '1 - node_filesystem_avail_bytes{fstype!~"tmpfs|overlay"} / node_filesystem_size_bytes{fstype!~"tmpfs|overlay"} > 0.9',
    for: '10m',
    severity: 'page',
    summary: '{{ $labels.instance }} {{ $labels.mountpoint }}: disk more than 90% full',
    test: {
      series: [
        { series: 'node_filesystem_avail_bytes{instance="host:9100",mountpoint="/",fstype="ext4"}', values: '5x20' },
        { series: 'node_filesystem_size_bytes{instance="host:9100",mountpoint="/",fstype="ext4"}', values: '100x20' },
      ],
      evalTime: '15m',
      labels: { instance: 'host:9100', mountpoint: '/', fstype: 'ext4' },
    },
  },
];

/** Fills a summary template with a firing alert's labels, as Prometheus would. */
const summaryOf = (alert: Alert) => alert.summary.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, name: string) => alert.test.labels[name] ?? '');

export function alertRules(): string {
  return `# Written by ferry init --monitoring. Tested by ferry-alerts.test.yml (promtool test rules).\n${stringify({
    groups: [
      {
        name: 'ferry',
        rules: ALERTS.map((a) => ({ alert: a.alert, expr: a.expr, for: a.for, labels: { severity: a.severity }, annotations: { summary: a.summary } })),
      },
    ],
  })}`;
}

export function alertTests(): string {
  return `# promtool test rules ferry-alerts.test.yml: every alert of ferry-alerts.yml fires on the series below.\n${stringify({
    rule_files: ['ferry-alerts.yml'],
    evaluation_interval: '1m',
    tests: ALERTS.map((a) => ({
      interval: '1m',
      input_series: a.test.series,
      alert_rule_test: [{ eval_time: a.test.evalTime, alertname: a.alert, exp_alerts: [{ exp_labels: { severity: a.severity, ...a.test.labels }, exp_annotations: { summary: summaryOf(a) } }] }],
    })),
  })}`;
}
