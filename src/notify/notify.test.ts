import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import { createHmac } from 'node:crypto';
import { notify, type Notification } from './notify.js';
import { freePort } from '../util/ports.js';

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const servers: http.Server[] = [];
afterEach(() => servers.splice(0).forEach((s) => s.close()));

/** A real HTTP receiver on loopback; answers `failFirst` requests with 500 first. */
async function receiver(failFirst = 0): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  let seen = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body });
      res.writeHead(seen++ < failFirst ? 500 : 200).end('ok');
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/hook`, received };
}

const sample: Notification = {
  app: 'hello', env: 'production', outcome: 'rolled_back', kind: 'deploy', deploymentId: 7, release: 'r7', commit: 'abcdef1234567890',
  previousRelease: 'r6', failedStep: 'watch', error: 'r7 turned unhealthy', durationMs: 1234, at: '2026-11-26T00:00:00.000Z',
};

describe('notify', () => {
  it('signs the webhook body with HMAC-SHA256 in X-Ferry-Signature', async () => {
    const hook = await receiver();
    const [delivery] = await notify(sample, { webhookUrl: hook.url, webhookSecret: 's3cret' });
    expect(delivery).toMatchObject({ target: 'webhook', delivered: true, attempts: 1 });
    const [request] = hook.received;
    const expected = 'sha256=' + createHmac('sha256', 's3cret').update(request.body).digest('hex');
    expect(request.headers['x-ferry-signature']).toBe(expected);
    expect(JSON.parse(request.body)).toMatchObject({ event: 'deployment.rolled_back', env: 'production', release: 'r7', failedStep: 'watch' });
  });

  it('sends a Slack incoming-webhook message', async () => {
    const slack = await receiver();
    await notify({ ...sample, outcome: 'succeeded' }, { slackUrl: slack.url });
    expect(JSON.parse(slack.received[0].body).text).toMatch(/hello production: deploy of r7 \(abcdef1\) succeeded/);
  });

  it('retries with backoff until the receiver accepts', async () => {
    const hook = await receiver(2);
    const [delivery] = await notify(sample, { webhookUrl: hook.url, attempts: 3, firstBackoffMs: 10 });
    expect(delivery).toMatchObject({ delivered: true, attempts: 3 });
    expect(hook.received).toHaveLength(3);
  });

  it('never throws when the notifier is unreachable', async () => {
    const port = await freePort();
    const deliveries = await notify(sample, { webhookUrl: `http://127.0.0.1:${port}/`, slackUrl: `http://127.0.0.1:${port}/`, attempts: 2, firstBackoffMs: 10 });
    expect(deliveries).toEqual([
      expect.objectContaining({ target: 'webhook', delivered: false, attempts: 2 }),
      expect.objectContaining({ target: 'slack', delivered: false, attempts: 2 }),
    ]);
  });
});
