// The service's backing services, each optional and configured by the variable staging and production use:
// MONGODB_URL (orders are stored there, else in memory), REDIS_URL (orders are cached there), KAFKA_BROKERS
// (an event is published for each new order). MongoDB and Kafka need their client packages (npm install
// mongodb kafkajs); Redis is spoken here directly.
import { Redis } from './redis.js';

const CHECK_TIMEOUT_MS = 1000;

const withTimeout = (promise, what) =>
  Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`${what} did not answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS))]);

async function load(name, variable) {
  try {
    return await import(name);
  } catch {
    throw new Error(`${variable} is set, but the ${name} package is not installed (npm install ${name})`);
  }
}

export function connectDependencies(env, { app }) {
  const deps = {};
  if (env.REDIS_URL) {
    const redis = new Redis(env.REDIS_URL, { timeoutMs: CHECK_TIMEOUT_MS });
    deps.redis = {
      check: () => redis.command(['PING']),
      get: (key) => redis.command(['GET', key]),
      set: (key, value, seconds) => redis.command(['SET', key, value, 'EX', seconds]),
      close: () => redis.close(),
    };
  }
  if (env.MONGODB_URL) {
    let client;
    const collection = async () => {
      if (!client) {
        const { MongoClient } = await load('mongodb', 'MONGODB_URL');
        client = new MongoClient(env.MONGODB_URL, { serverSelectionTimeoutMS: CHECK_TIMEOUT_MS });
      }
      return client.db().collection('orders');
    };
    deps.mongo = {
      check: async () => (await collection()).db.command({ ping: 1 }),
      insert: async (order) => void (await (await collection()).insertOne({ ...order })),
      find: async (id) => (await (await collection()).findOne({ id }, { projection: { _id: 0 } })) ?? null,
      close: () => client?.close(),
    };
  }
  if (env.KAFKA_BROKERS) {
    let producer;
    let kafka;
    const connected = async () => {
      if (!producer) {
        const { Kafka } = await load('kafkajs', 'KAFKA_BROKERS');
        kafka = new Kafka({ clientId: app, brokers: env.KAFKA_BROKERS.split(','), connectionTimeout: CHECK_TIMEOUT_MS, retry: { retries: 1 } });
        producer = kafka.producer();
        await producer.connect();
      }
      return producer;
    };
    deps.kafka = {
      check: async () => {
        await connected();
        const admin = kafka.admin();
        await admin.connect();
        try {
          await admin.describeCluster();
        } finally {
          await admin.disconnect();
        }
      },
      publish: async (topic, event) => void (await (await connected()).send({ topic, messages: [{ key: event.id, value: JSON.stringify(event) }] })),
      close: () => producer?.disconnect(),
    };
  }
  return deps;
}

/** Each dependency's state: `up`, `down` (with why) or `not configured`; ready when none configured is down. */
export async function readiness(deps) {
  const checks = {};
  for (const name of ['mongo', 'redis', 'kafka']) {
    if (!deps[name]) {
      checks[name] = { status: 'not configured' };
      continue;
    }
    try {
      await withTimeout(deps[name].check(), name);
      checks[name] = { status: 'up' };
    } catch (error) {
      checks[name] = { status: 'down', error: error.message };
    }
  }
  return { ready: Object.values(checks).every((check) => check.status !== 'down'), checks };
}
