import type { RouteCounters } from '../router/state.js';
import { LATENCY_BUCKETS_SECONDS, type RequestSeries } from '../router/request-metrics.js';

const label = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/**
 * The router's counters in Prometheus' text format: the router counts raw bucket hits, so these families are
 * written here rather than observed again into prom-client. Counters start from zero when the router restarts
 * (Prometheus' rate() handles the reset).
 */
export function requestExposition(series: RequestSeries[], counters: Record<string, RouteCounters>, routedEnvs: string[]): string {
  const lines: string[] = [
    '# HELP http_requests_total Requests the router answered, by environment, release and status class.',
    '# TYPE http_requests_total counter',
  ];
  for (const s of series) {
    for (const [code, n] of Object.entries(s.codes)) if (n > 0) lines.push(`http_requests_total{environment="${label(s.env)}",release="${label(s.release)}",code="${code}"} ${n}`);
  }
  lines.push(
    '# HELP http_request_duration_seconds Time from a request reaching the router to the last byte of its answer, by environment and release.',
    '# TYPE http_request_duration_seconds histogram',
  );
  for (const s of series) {
    const labels = `environment="${label(s.env)}",release="${label(s.release)}"`;
    let cumulative = 0;
    LATENCY_BUCKETS_SECONDS.forEach((bound, i) => {
      cumulative += s.buckets[i];
      lines.push(`http_request_duration_seconds_bucket{${labels},le="${bound}"} ${cumulative}`);
    });
    lines.push(`http_request_duration_seconds_bucket{${labels},le="+Inf"} ${s.count}`, `http_request_duration_seconds_sum{${labels}} ${s.sumSeconds}`, `http_request_duration_seconds_count{${labels}} ${s.count}`);
  }
  lines.push(
    '# HELP ferry_router_upstream_failures_total What the router answered itself: 504 (timeout), 502 (error), 503 (nothing to route to), by environment.',
    '# TYPE ferry_router_upstream_failures_total counter',
  );
  const none: RouteCounters = { upstreamTimeouts: 0, upstreamErrors: 0, unavailable: 0 };
  for (const env of new Set([...routedEnvs, ...Object.keys(counters)])) {
    const c = counters[env] ?? none;
    lines.push(
      `ferry_router_upstream_failures_total{environment="${label(env)}",kind="timeout"} ${c.upstreamTimeouts}`,
      `ferry_router_upstream_failures_total{environment="${label(env)}",kind="error"} ${c.upstreamErrors}`,
      `ferry_router_upstream_failures_total{environment="${label(env)}",kind="unavailable"} ${c.unavailable}`,
    );
  }
  return lines.join('\n') + '\n';
}
