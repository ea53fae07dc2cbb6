import type { ServiceName } from './project-facts.js';

/**
 * Each service a project's dependencies call for, once: its image and port, the variable the app reads it
 * from (the name staging and production use), and that variable's value for ferry dev (on 127.0.0.1), for
 * docker-compose.dev.yml (by service name) and for the CI job.
 */
export interface ServiceSpec {
  image: string;
  port: number;
  variable: string;
  url: (host: string, port: number | string, app: string) => string;
  containerEnv: (advertisedPort: number | string) => Record<string, string>;
  healthcheck: string;
}

const kafkaEnv = (advertised: string) => ({
  KAFKA_NODE_ID: '1',
  KAFKA_PROCESS_ROLES: 'broker,controller',
  KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
  KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${advertised}`,
  KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
  KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
  KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
  KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
  KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
  KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
  KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
});

export const SERVICE_SPECS: Record<ServiceName, ServiceSpec> = {
  mongo: { image: 'mongo:7', port: 27017, variable: 'MONGODB_URL', url: (host, port, app) => `mongodb://${host}:${port}/${app}`, containerEnv: () => ({}), healthcheck: "mongosh --quiet --eval 'db.runCommand({ ping: 1 })'" },
  redis: { image: 'redis:7', port: 6379, variable: 'REDIS_URL', url: (host, port) => `redis://${host}:${port}`, containerEnv: () => ({}), healthcheck: 'redis-cli ping' },
  postgres: {
    image: 'postgres:16',
    port: 5432,
    variable: 'DATABASE_URL',
    url: (host, port, app) => `postgres://dev:dev@${host}:${port}/${app}`,
    containerEnv: () => ({ POSTGRES_USER: 'dev', POSTGRES_PASSWORD: 'dev', POSTGRES_DB: '__APP__' }),
    healthcheck: 'pg_isready -U dev',
  },
  kafka: {
    image: 'apache/kafka:3.8.0',
    port: 9092,
    variable: 'KAFKA_BROKERS',
    url: (host, port) => `${host}:${port}`,
    // The broker tells clients where to reach it: the address they used, through the published port.
    containerEnv: (advertised) => kafkaEnv(String(advertised)),
    healthcheck: '/opt/kafka/bin/kafka-broker-api-versions.sh --bootstrap-server localhost:9092',
  },
};

/** `dev.services` for ferry.yml: each service as a container on 127.0.0.1 at the port ferry dev picks ({port}). */
export function devServices(services: ServiceName[], app: string): Record<string, unknown> {
  return Object.fromEntries(
    services.map((name) => {
      const spec = SERVICE_SPECS[name];
      const containerEnv = Object.fromEntries(Object.entries(spec.containerEnv('127.0.0.1:{port}')).map(([key, value]) => [key, value.replace('__APP__', app)]));
      return [name, { image: spec.image, port: spec.port, env: { [spec.variable]: spec.url('127.0.0.1', '{port}', app) }, ...(Object.keys(containerEnv).length ? { container_env: containerEnv } : {}) }];
    }),
  );
}
