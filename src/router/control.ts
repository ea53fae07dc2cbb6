import http from 'node:http';
import { existsSync, unlinkSync } from 'node:fs';
import { readJsonBody, sendJson } from '../util/json-http.js';
import type { Router } from './router.js';

/** The router's small control interface, on a unix socket only the agent's user can reach. */
export function createControlServer(router: Router, onShutdown: (stopInstances: boolean) => void, onHandover: (successor: { entry: string; execPath: string; workers?: number }) => Promise<number>): http.Server {
  return http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://router');
    const parts = url.pathname.split('/').filter(Boolean);
    try {
      if (req.method === 'GET' && url.pathname === '/ping') return sendJson(res, 200, { pid: process.pid });
      if (req.method === 'GET' && url.pathname === '/state') return sendJson(res, 200, await router.snapshot());
      if (req.method === 'GET' && url.pathname === '/requests') return sendJson(res, 200, await router.requestCounts());
      if (req.method === 'PUT' && url.pathname === '/requests') {
        const enabled = (await readJsonBody(req)).enabled !== false;
        await router.setRequestCounting(enabled);
        return sendJson(res, 200, { enabled });
      }
      if (req.method === 'PUT' && parts[0] === 'routes' && parts[1]) {
        const body = await readJsonBody(req);
        const { propagatedMs } = await router.setRoute({ env: parts[1], port: body.port, release: body.release, upstreams: body.upstreams, timeouts: body.timeouts });
        return sendJson(res, 200, { ...router.state.routes[parts[1]], propagatedMs });
      }
      if (req.method === 'PUT' && parts[0] === 'tls' && parts[1]) {
        const body = await readJsonBody(req);
        const { propagatedMs } = await router.setTls(parts[1], body.port, body.tls ?? null);
        return sendJson(res, 200, { ...router.state.routes[parts[1]], propagatedMs });
      }
      if (req.method === 'POST' && url.pathname === '/upstreams') {
        return sendJson(res, 201, router.registerUpstream(await readJsonBody(req)));
      }
      if (req.method === 'POST' && url.pathname === '/instances') {
        return sendJson(res, 201, router.startInstance(await readJsonBody(req)));
      }
      if (req.method === 'POST' && parts[0] === 'instances' && parts[2] === 'stop') {
        const body = await readJsonBody(req);
        return sendJson(res, 200, await router.stopInstance(parts[1], body.drainTimeoutMs ?? 0, body.graceMs ?? 10_000));
      }
      if (req.method === 'DELETE' && parts[0] === 'instances' && parts[1]) {
        router.supervisor.forget(parts[1]);
        return sendJson(res, 200, { forgotten: parts[1] });
      }
      if (req.method === 'POST' && url.pathname === '/handover') {
        const body = await readJsonBody(req);
        if (typeof body.entry !== 'string' || typeof body.execPath !== 'string') return sendJson(res, 400, { error: 'handover needs entry and execPath' });
        return sendJson(res, 200, { pid: await onHandover({ entry: body.entry, execPath: body.execPath, workers: body.workers }) });
      }
      if (req.method === 'POST' && url.pathname === '/shutdown') {
        const body = await readJsonBody(req);
        sendJson(res, 200, { stopping: true });
        return onShutdown(body.stopInstances !== false);
      }
      sendJson(res, 404, { error: `no route ${req.method} ${url.pathname}` });
    } catch (error) {
      const err = error as Error & { httpStatus?: number; code?: string };
      sendJson(res, err.httpStatus ?? 500, { error: err.message, code: err.code });
    }
  });
}

export function listenOnSocket(server: http.Server, socketPath: string): Promise<void> {
  if (existsSync(socketPath)) unlinkSync(socketPath);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
}
