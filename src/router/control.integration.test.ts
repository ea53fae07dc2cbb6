import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RouterClient } from './client.js';
import type { InstanceSpec, Route } from './state.js';
import { freePort } from '../util/ports.js';
import { startRouterProcess, stopRouterProcess } from '../../test/support/router-process.js';

const dir = mkdtempSync(join(tmpdir(), 'ferry-control-'));
let router: RouterClient;
let port = 0;

beforeAll(async () => {
  router = await startRouterProcess(join(dir, 'state'), { workers: 1 });
  port = await freePort();
  await router.setRoute({ env: 'web', port, upstreams: [], release: null });
});
afterAll(async () => {
  await stopRouterProcess(router);
  rmSync(dir, { recursive: true, force: true });
});

/** What the router answers a control message, or the refusal's message. */
const refusal = (call: Promise<unknown>) => call.then(() => 'accepted', (error: Error & { code?: string }) => `${error.code}: ${error.message}`);

describe("the router's control socket checks every message before it acts", () => {
  it('refuses a route whose port, upstreams or timeouts are not what a route holds, naming the field, and keeps the table', async () => {
    const before = (await router.state()).routes;
    const bad: Array<[unknown, RegExp]> = [
      [{ env: 'web', port: '8080', upstreams: [] }, /port: Invalid input: expected number, received string/],
      [{ env: 'web', port: 70_000, upstreams: [] }, /port: Too big: expected number to be <=65535/],
      [{ env: 'web', port, upstreams: 'a' }, /upstreams: Invalid input: expected array, received string/],
      [{ env: 'web', port, upstreams: ['../a'] }, /upstreams\.0: letters, digits and _ \. : - only/],
      [{ env: 'web', port, upstreams: [], timeouts: { connectMs: -1, responseHeaderMs: 10 } }, /timeouts\.connectMs: Too small/],
    ];
    for (const [route, message] of bad) expect(await refusal(router.setRoute(route as Route))).toMatch(new RegExp(`^ROUTER_REFUSED: router: PUT /routes/web: .*${message.source}`));
    expect((await router.state()).routes).toEqual(before);
  });

  it('refuses an instance spec without its working folder or with a port that is not one, and starts nothing', async () => {
    const spec = { id: 'web-r1-1', env: 'web', release: 'r1', port: await freePort(), cwd: dir, command: 'node -e 0', vars: {}, logFile: join(dir, 'i.log') };
    const { cwd: _cwd, ...withoutCwd } = spec;
    expect(await refusal(router.startInstance(withoutCwd as InstanceSpec))).toMatch(/cwd: Invalid input: expected string, received undefined/);
    expect(await refusal(router.startInstance({ ...spec, port: 0 }))).toMatch(/port: Too small/);
    expect(await refusal(router.startInstance({ ...spec, vars: { A: 1 } } as unknown as InstanceSpec))).toMatch(/vars\.A: Invalid input: expected string/);
    expect(await refusal(router.registerUpstream({ ...spec, runtime: 'vm' } as unknown as InstanceSpec))).toMatch(/runtime: Invalid option/);
    expect((await router.state()).instances).toEqual({});
    expect(await refusal(router.stopInstance('web-r1-1', -5, 10))).toMatch(/drainTimeoutMs: Too small/);
  });
});
