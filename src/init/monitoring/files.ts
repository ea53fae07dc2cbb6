import { stringify } from 'yaml';
import { alertRules, alertTests } from './alerts.js';
import { DASHBOARDS, DATASOURCE } from './dashboards.js';

export type Exporter = 'mongo' | 'redis' | 'postgres' | 'kafka';

export interface MonitoringFacts {
  app: string;
  /** Each environment's router port: the app's own /metrics is scraped through it. */
  environments: Array<{ name: string; port: number }>;
  agentPort: number;
  /** The data stores the project uses (from its dependencies): each gets its exporter. */
  exporters: Exporter[];
}

/** Exporters, where they listen (host network) and the image that runs them. */
const EXPORTERS: Record<Exporter, { port: number; image: string; env: Record<string, string> }> = {
  mongo: { port: 9216, image: 'percona/mongodb_exporter:0.40', env: { MONGODB_URI: 'mongodb://127.0.0.1:27017' } },
  redis: { port: 9121, image: 'oliver006/redis_exporter:v1.62.0', env: { REDIS_ADDR: 'redis://127.0.0.1:6379' } },
  postgres: { port: 9187, image: 'quay.io/prometheuscommunity/postgres-exporter:v0.15.0', env: { DATA_SOURCE_NAME: 'postgresql://postgres@127.0.0.1:5432/postgres?sslmode=disable' } },
  kafka: { port: 9308, image: 'danielqsj/kafka-exporter:v1.7.0', env: {} },
};

/**
 * Prometheus on the host network (the agent and the router listen on 127.0.0.1 only): the app through each
 * environment's router port, the agent with its token, node-exporter, cAdvisor and the exporters the project
 * needs; every 15 s. Paths are relative to this file, so promtool checks it in place and the container reads it
 * from /etc/prometheus.
 */
export function prometheusConfig(facts: MonitoringFacts): string {
  const job = (name: string, targets: string[], extra: Record<string, unknown> = {}) => ({ job_name: name, static_configs: [{ targets }], ...extra });
  return `# Written by ferry init --monitoring. Put the agent's token in secrets/ferry-agent.token: ferry token > secrets/ferry-agent.token (it stays the same until ferry token --rotate).\n${stringify({
    global: { scrape_interval: '15s', evaluation_interval: '15s', external_labels: { app: facts.app } },
    rule_files: ['rules/ferry-alerts.yml'],
    alerting: { alertmanagers: [{ static_configs: [{ targets: ['127.0.0.1:9093'] }] }] },
    scrape_configs: [
      ...facts.environments.map((env) => job(`app-${env.name}`, [`127.0.0.1:${env.port}`], { relabel_configs: [{ target_label: 'environment', replacement: env.name }] })),
      job('ferry-agent', [`127.0.0.1:${facts.agentPort}`], { authorization: { credentials_file: 'secrets/ferry-agent.token' } }),
      job('node', ['127.0.0.1:9100']),
      job('cadvisor', ['127.0.0.1:8080']),
      ...facts.exporters.map((name) => job(name, [`127.0.0.1:${EXPORTERS[name].port}`])),
    ],
  })}`;
}

/** Alerts to the team's webhook and to ferry's incident endpoint (which blames the serving deployment). */
export function alertmanagerConfig(facts: MonitoringFacts): string {
  return `# Written by ferry init --monitoring. EDIT the team receiver's URL. ferry's receiver opens and closes incidents
# (ferry incident list) and needs the agent's token in secrets/ferry-agent.token.\n${stringify({
    route: { receiver: 'ferry', group_by: ['alertname', 'environment'], group_wait: '30s', group_interval: '5m', repeat_interval: '4h', routes: [{ receiver: 'team', continue: true, matchers: ['severity=~"page|ticket"'] }, { receiver: 'ferry' }] },
    receivers: [
      { name: 'ferry', webhook_configs: [{ url: `http://127.0.0.1:${facts.agentPort}/api/alertmanager`, send_resolved: true, http_config: { authorization: { credentials_file: 'secrets/ferry-agent.token' } } }] },
      { name: 'team', webhook_configs: [{ url: 'http://127.0.0.1:9/EDIT-your-team-webhook', send_resolved: true }] },
    ],
  })}`;
}

export const grafanaDatasource = () =>
  `# Written by ferry init --monitoring: the data source every dashboard names by its fixed uid.\n${stringify({
    apiVersion: 1,
    datasources: [{ name: 'Prometheus', type: DATASOURCE.type, uid: DATASOURCE.uid, access: 'proxy', url: 'http://127.0.0.1:9090', isDefault: true }],
  })}`;

export const grafanaDashboardProvider = () =>
  `${stringify({ apiVersion: 1, providers: [{ name: 'ferry', folder: 'ferry', type: 'file', disableDeletion: false, options: { path: '/var/lib/grafana/dashboards/ferry' } }] })}`;

/** Everything on the host network, so it reaches the agent and the routers on 127.0.0.1. */
export function composeFile(facts: MonitoringFacts): string {
  const services: Record<string, unknown> = {
    prometheus: { image: 'prom/prometheus:v2.53.0', network_mode: 'host', volumes: ['./monitoring:/etc/prometheus:ro', 'prometheus-data:/prometheus'], command: ['--config.file=/etc/prometheus/prometheus.yml', '--storage.tsdb.retention.time=30d', '--web.listen-address=127.0.0.1:9090'], restart: 'unless-stopped' },
    alertmanager: { image: 'prom/alertmanager:v0.27.0', network_mode: 'host', volumes: ['./monitoring:/etc/alertmanager:ro'], command: ['--config.file=/etc/alertmanager/alertmanager.yml', '--web.listen-address=127.0.0.1:9093', '--cluster.listen-address='], restart: 'unless-stopped' },
    grafana: {
      image: 'grafana/grafana:11.1.0',
      network_mode: 'host',
      environment: { GF_SERVER_HTTP_ADDR: '127.0.0.1', GF_SERVER_HTTP_PORT: '3030', GF_AUTH_ANONYMOUS_ENABLED: 'false' },
      volumes: ['./monitoring/grafana/provisioning:/etc/grafana/provisioning:ro', './monitoring/grafana/dashboards:/var/lib/grafana/dashboards/ferry:ro', 'grafana-data:/var/lib/grafana'],
      restart: 'unless-stopped',
    },
    'node-exporter': { image: 'prom/node-exporter:v1.8.1', network_mode: 'host', pid: 'host', volumes: ['/:/host:ro,rslave'], command: ['--path.rootfs=/host', '--web.listen-address=127.0.0.1:9100'], restart: 'unless-stopped' },
    cadvisor: {
      image: 'gcr.io/cadvisor/cadvisor:v0.49.1',
      network_mode: 'host',
      privileged: true,
      command: ['--listen_ip=127.0.0.1', '--port=8080'],
      volumes: ['/:/rootfs:ro', '/var/run:/var/run:ro', '/sys:/sys:ro', '/var/lib/docker/:/var/lib/docker:ro'],
      restart: 'unless-stopped',
    },
  };
  for (const name of facts.exporters) {
    services[`${name}-exporter`] = { image: EXPORTERS[name].image, network_mode: 'host', environment: EXPORTERS[name].env, restart: 'unless-stopped' };
  }
  return `# Written by ferry init --monitoring: docker compose -f docker-compose.monitoring.yml up -d
# Grafana on http://127.0.0.1:3030 (admin/admin at first), Prometheus on :9090, Alertmanager on :9093; loopback only.\n${stringify({ services, volumes: { 'prometheus-data': {}, 'grafana-data': {} } })}`;
}

/** Every file `ferry init --monitoring` writes, relative to the project. */
export function monitoringFiles(facts: MonitoringFacts): Array<[string, string]> {
  return [
    ['monitoring/prometheus.yml', prometheusConfig(facts)],
    ['monitoring/rules/ferry-alerts.yml', alertRules()],
    ['monitoring/rules/ferry-alerts.test.yml', alertTests()],
    ['monitoring/alertmanager.yml', alertmanagerConfig(facts)],
    ['monitoring/grafana/provisioning/datasources/prometheus.yml', grafanaDatasource()],
    ['monitoring/grafana/provisioning/dashboards/ferry.yml', grafanaDashboardProvider()],
    ...Object.entries(DASHBOARDS).map(([name, make]) => [`monitoring/grafana/dashboards/${name}.json`, JSON.stringify(make(), null, 2) + '\n'] as [string, string]),
    ['monitoring/secrets/.gitignore', '*\n!.gitignore\n'],
    ['docker-compose.monitoring.yml', composeFile(facts)],
  ];
}
