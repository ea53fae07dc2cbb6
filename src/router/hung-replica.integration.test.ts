import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestProject, httpGet, type TestProject } from '../../test/support/project.js';
import { KeepAliveLoad } from '../../test/support/load.js';
import { sleep } from '../util/sleep.js';

let project: TestProject;
beforeAll(async () => {
  project = await createTestProject();
  project.writeConfig((config) => {
    config.environments.production.replicas = 2;
    config.environments.production.proxy = { response_timeout: '1s' };
  });
  project.commit({}, 'two replicas, response timeout 1s');
  const first = await project.ferry(['deploy', 'production']);
  expect(first.code, first.stdout + first.stderr).toBe(0);
});
// cleanup() stops the agent, its router and instances.
afterAll(() => project.cleanup());

const instances = async () => JSON.parse((await project.ferry(['status', 'production', '--json'])).stdout).environments[0].instances as Array<{ pid: number; state: string }>;

describe('a hung replica (SIGSTOP) beside a healthy one', () => {
  it('costs no failed GET: the requests it holds past the response timeout go to the other replica, and after three timeouts it gets none until it answers again; none fails after SIGCONT', async () => {
    const [hung, healthy] = await instances();
    expect([hung?.state, healthy?.state]).toEqual(['serving', 'serving']);
    const load = new KeepAliveLoad({ port: project.ports.production, connections: 8, pacingMs: 20 });
    load.start();
    await sleep(500);
    process.kill(hung!.pid, 'SIGSTOP');
    let stoppedAt = Date.now();
    try {
      await sleep(6000);
      // A POST is not idempotent: it is not sent twice. It waits its timeout and is answered 504.
      const post = await fetch(`http://127.0.0.1:${project.ports.production}/`, { method: 'POST', body: 'x' }).then((r) => r.status);
      expect([200, 504]).toContain(post);
    } finally {
      process.kill(hung!.pid, 'SIGCONT');
    }
    const whileHung = load.samples.filter((s) => s.at >= stoppedAt);
    stoppedAt = Date.now();
    await sleep(6000); // past the ejection: the woken replica gets traffic again
    const summary = await load.stop();
    const afterWake = load.samples.filter((s) => s.at >= stoppedAt);
    const slow = whileHung.filter((s) => s.ms >= 1000).length;
    console.log(`hung replica: ${whileHung.length} requests while it was stopped (6 s), ${whileHung.filter((s) => s.status !== 200).length} failed, ${slow} waited a response timeout (then went to the other replica); after SIGCONT ${afterWake.length} requests, ${afterWake.filter((s) => s.status !== 200).length} failed; p99 ${summary.p99Ms} ms`);
    expect(summary).toMatchObject({ non2xx: 0, socketErrors: 0 });
    // Ejected after three timeouts, it held only those few (each connection's request in flight at the stop, and the probes that found it out).
    expect(slow).toBeLessThanOrEqual(12);
    expect(afterWake.length).toBeGreaterThan(100);
    expect((await httpGet(project.ports.production)).status).toBe(200);
  }, 60_000);
});
