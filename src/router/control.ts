import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { existsSync, unlinkSync } from 'node:fs';
import type { ZodType } from 'zod';
import { readBody, sendJson } from '../util/json-http.js';
import { matchRoute } from '../util/route-match.js';
import { HandoverMessageBody, InstanceMessage, RequestCountingMessage, SetRouteMessage, SetTlsMessage, ShutdownMessage, StopInstanceMessage } from './control-messages.js';
import type { Router } from './router.js';

type Handler = (context: { req: IncomingMessage; res: ServerResponse; params: Record<string, string> }) => Promise<void> | void;

/** The router's small control interface, on a unix socket only the agent's user can reach: a table of method, path and handler; every body checked (control-messages.ts). */
export function createControlServer(router: Router, onShutdown: (stopInstances: boolean) => void, onHandover: (successor: { entry: string; execPath: string; workers?: number }) => Promise<number>): http.Server {
  const body = <T>(req: IncomingMessage, schema: ZodType<T>) => readBody(req, schema, `${req.method} ${req.url}`);
  const routes: Array<{ method: string; path: RegExp; handle: Handler }> = [
    { method: 'GET', path: /^\/ping$/, handle: ({ res }) => sendJson(res, 200, { pid: process.pid }) },
    { method: 'GET', path: /^\/state$/, handle: async ({ res }) => sendJson(res, 200, await router.snapshot()) },
    { method: 'GET', path: /^\/requests$/, handle: async ({ res }) => sendJson(res, 200, await router.requestCounts()) },
    {
      method: 'PUT',
      path: /^\/requests$/,
      handle: async ({ req, res }) => {
        const { enabled } = await body(req, RequestCountingMessage);
        await router.setRequestCounting(enabled);
        sendJson(res, 200, { enabled });
      },
    },
    {
      method: 'PUT',
      path: /^\/routes\/(?<env>[^/]+)$/,
      handle: async ({ req, res, params }) => {
        const { port, release, upstreams, timeouts } = await body(req, SetRouteMessage);
        const { propagatedMs } = await router.setRoute({ env: params.env!, port, release, upstreams, timeouts });
        sendJson(res, 200, { ...router.state.routes[params.env!], propagatedMs });
      },
    },
    {
      method: 'PUT',
      path: /^\/tls\/(?<env>[^/]+)$/,
      handle: async ({ req, res, params }) => {
        const { port, tls } = await body(req, SetTlsMessage);
        const { propagatedMs } = await router.setTls(params.env!, port, tls);
        sendJson(res, 200, { ...router.state.routes[params.env!], propagatedMs });
      },
    },
    { method: 'POST', path: /^\/upstreams$/, handle: async ({ req, res }) => sendJson(res, 201, router.registerUpstream(await body(req, InstanceMessage))) },
    { method: 'POST', path: /^\/instances$/, handle: async ({ req, res }) => sendJson(res, 201, router.startInstance(await body(req, InstanceMessage))) },
    {
      method: 'POST',
      path: /^\/instances\/(?<id>[^/]+)\/stop$/,
      handle: async ({ req, res, params }) => {
        const { drainTimeoutMs, graceMs } = await body(req, StopInstanceMessage);
        sendJson(res, 200, await router.stopInstance(params.id!, drainTimeoutMs, graceMs));
      },
    },
    {
      method: 'DELETE',
      path: /^\/instances\/(?<id>[^/]+)$/,
      handle: ({ res, params }) => {
        router.supervisor.forget(params.id!);
        sendJson(res, 200, { forgotten: params.id });
      },
    },
    { method: 'POST', path: /^\/handover$/, handle: async ({ req, res }) => sendJson(res, 200, { pid: await onHandover(await body(req, HandoverMessageBody)) }) },
    {
      method: 'POST',
      path: /^\/shutdown$/,
      handle: async ({ req, res }) => {
        const { stopInstances } = await body(req, ShutdownMessage);
        sendJson(res, 200, { stopping: true });
        onShutdown(stopInstances);
      },
    },
  ];
  return http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://router');
    try {
      const found = matchRoute(routes, req.method ?? '', url.pathname);
      if (found && 'route' in found) return await found.route.handle({ req, res, params: found.params });
      sendJson(res, found ? 405 : 404, { error: found ? `${url.pathname} takes ${found.allowed.join(', ')}, not ${req.method}` : `no route ${req.method} ${url.pathname}` });
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
