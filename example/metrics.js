// The service's own Prometheus metrics, without a dependency: Node's default process and runtime metrics under
// prom-client's names (so the usual dashboards read them), and the requests this service answered.
import { monitorEventLoopDelay } from 'node:perf_hooks';

const startSeconds = Math.round(Date.now() / 1000 - process.uptime());
const loop = monitorEventLoopDelay({ resolution: 20 });
loop.enable();
const requests = new Map();

/** Counts one answered request by route and status class (bounded labels: a fixed route list). */
export function countRequest(route, status) {
  const key = `${route}|${Math.floor(status / 100)}xx`;
  requests.set(key, (requests.get(key) ?? 0) + 1);
}

/** `dependencies`: each backing service's readiness check, as app_dependency_up (1 up, 0 down; not configured: absent). */
export function metricsText(labels, dependencies) {
  const common = Object.entries(labels).map(([k, v]) => `${k}="${String(v).replace(/["\\\n]/g, '_')}"`).join(',');
  const cpu = process.cpuUsage();
  const memory = process.memoryUsage();
  const lines = [
    '# HELP process_cpu_user_seconds_total Total user CPU time spent in seconds.',
    '# TYPE process_cpu_user_seconds_total counter',
    `process_cpu_user_seconds_total{${common}} ${cpu.user / 1e6}`,
    '# HELP process_cpu_system_seconds_total Total system CPU time spent in seconds.',
    '# TYPE process_cpu_system_seconds_total counter',
    `process_cpu_system_seconds_total{${common}} ${cpu.system / 1e6}`,
    '# HELP process_resident_memory_bytes Resident memory size in bytes.',
    '# TYPE process_resident_memory_bytes gauge',
    `process_resident_memory_bytes{${common}} ${memory.rss}`,
    '# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.',
    '# TYPE process_start_time_seconds gauge',
    `process_start_time_seconds{${common}} ${startSeconds}`,
    '# HELP nodejs_heap_size_total_bytes Process heap size from Node.js in bytes.',
    '# TYPE nodejs_heap_size_total_bytes gauge',
    `nodejs_heap_size_total_bytes{${common}} ${memory.heapTotal}`,
    '# HELP nodejs_heap_size_used_bytes Process heap size used from Node.js in bytes.',
    '# TYPE nodejs_heap_size_used_bytes gauge',
    `nodejs_heap_size_used_bytes{${common}} ${memory.heapUsed}`,
    '# HELP nodejs_eventloop_lag_p99_seconds The 99th percentile of the recorded event loop delays.',
    '# TYPE nodejs_eventloop_lag_p99_seconds gauge',
    `nodejs_eventloop_lag_p99_seconds{${common}} ${loop.percentile(99) / 1e9}`,
    '# HELP app_requests_total Requests this service answered, by route and status class.',
    '# TYPE app_requests_total counter',
  ];
  for (const [key, n] of requests) {
    const [route, code] = key.split('|');
    lines.push(`app_requests_total{${common},route="${route}",code="${code}"} ${n}`);
  }
  const checked = Object.entries(dependencies ?? {}).filter(([, check]) => check.status !== 'not configured');
  if (checked.length) {
    lines.push('# HELP app_dependency_up Whether a backing service this instance is configured with answers (1) or not (0).', '# TYPE app_dependency_up gauge');
    for (const [name, check] of checked) lines.push(`app_dependency_up{${common},dependency="${name}"} ${check.status === 'up' ? 1 : 0}`);
  }
  return lines.join('\n') + '\n';
}
