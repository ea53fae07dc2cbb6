import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { healthGate, watchWindow } from './gate.js';
import { probeHttp } from './probe.js';
import { freePort } from '../util/ports.js';

let status = 200;
let port = 0;
const server = http.createServer((req, res) => {
  if (req.url === '/slow') setTimeout(() => res.end(), 500);
  else res.writeHead(status).end('x');
});

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as { port: number }).port;
});
afterAll(() => server.close());

describe('health probes and gates', () => {
  it('passes after healthy_threshold consecutive 2xx probes', async () => {
    status = 200;
    const verdict = await healthGate({ probe: () => probeHttp(port, '/health', 500), intervalMs: 10, healthyThreshold: 3, deadlineMs: 2000 });
    expect(verdict).toMatchObject({ healthy: true });
    expect(verdict.probes).toHaveLength(3);
  });

  it('fails at the deadline when probes answer 500, with the probes behind the verdict', async () => {
    status = 500;
    const verdict = await healthGate({ probe: () => probeHttp(port, '/health', 500), intervalMs: 20, healthyThreshold: 2, deadlineMs: 200 });
    expect(verdict.healthy).toBe(false);
    expect(verdict.probes.every((p) => p.status === 500)).toBe(true);
  });

  it('times out a probe that does not answer', async () => {
    const probe = await probeHttp(port, '/slow', 100);
    expect(probe).toMatchObject({ ok: false, error: 'no answer within 100ms' });
  });

  it('reports refused connections', async () => {
    expect((await probeHttp(await freePort(), '/health', 500)).error).toBe('ECONNREFUSED');
  });

  it('the watch window fails fast on unhealthy_threshold consecutive failures', async () => {
    status = 200;
    setTimeout(() => (status = 503), 100);
    const verdict = await watchWindow({ probe: () => probeHttp(port, '/health', 500), intervalMs: 20, windowMs: 5000, unhealthyThreshold: 2 });
    expect(verdict.healthy).toBe(false);
    // Well short of the 5 s window (the margin is for a loaded machine).
    expect(verdict.elapsedMs).toBeLessThan(3000);
    expect(verdict.firstFailureAt).toBeGreaterThan(0);
  });
});
