import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { configSchema, type EnvironmentConfig } from '../config/schema.js';
import type { RouterClient } from '../router/client.js';
import type { DeliveryStore } from '../store/delivery.js';
import { probeHttp } from '../health/probe.js';
import { startUptimeProbes } from './uptime.js';

const base = configSchema.parse({ app: 'a', agent: { uptime_probe_interval: '100ms' }, environments: { production: { port: 3000, start: 'node server.js' } } });

describe('the uptime prober', () => {
  it("probes the serving release's own health path, not the working tree's; a path Node will not send is a failed probe, and a round that throws is reported while the next one runs", async () => {
    const paths: string[] = [];
    const server = createServer((req, res) => {
      paths.push(req.url ?? '');
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const router = { state: async () => ({ routes: { production: { env: 'production', port, release: 'r1', upstreams: ['production-r1-d1-1'] } }, instances: {} }) } as unknown as RouterClient;
    const probes: boolean[] = [];
    const errors: string[] = [];
    let release: Partial<EnvironmentConfig> | 'throws' = { health: { ...base.environments.production.health, path: '/from-the-release' } };
    const stop = new AbortController();
    const running = startUptimeProbes(
      {
        router,
        delivery: { recordProbe: (_env: string, ok: boolean) => probes.push(ok) } as unknown as DeliveryStore,
        // The working tree's config says another path: it is not the one probed.
        config: () => ({ ...base, environments: { production: { ...base.environments.production, health: { ...base.environments.production.health, path: '/from-the-working-tree' } } } }),
        releaseConfig: () => {
          if (release === 'throws') throw new Error('the snapshot cannot be read');
          return release as EnvironmentConfig;
        },
        onError: (error) => errors.push(String(error)),
      },
      stop.signal,
    );
    const until = async (condition: () => boolean) => {
      for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    };
    await until(() => probes.length >= 2);
    expect(paths.every((path) => path === '/from-the-release')).toBe(true);
    expect(probes.slice(0, 2)).toEqual([true, true]);

    release = { health: { ...base.environments.production.health, path: '/he alth' } };
    await until(() => probes.includes(false));
    expect(probes.at(-1)).toBe(false);

    release = 'throws';
    await until(() => errors.length >= 2);
    expect(errors[0]).toMatch(/the snapshot cannot be read/);
    stop.abort();
    await running;
    server.close();
  });

  it('probeHttp answers a path with a space as a failed probe instead of throwing', async () => {
    await expect(probeHttp(1, '/he alth', 100)).resolves.toMatchObject({ ok: false, status: null, error: expect.stringMatching(/unescaped characters/) });
  });
});
