import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestProject, ferryUntil, type TestProject } from '../../test/support/project.js';

let project: TestProject;
beforeAll(async () => {
  project = await createTestProject();
  const first = await project.ferry(['deploy', 'production']);
  expect(first.code, first.stdout + first.stderr).toBe(0);
}, 60_000);
afterAll(() => project?.cleanup());

const ISO = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`;

describe('ferry logs --follow', () => {
  it('prints the serving instances’ last lines, then new ones with the time, and follows what serves across a deploy', async () => {
    const follow = ferryUntil(project, ['logs', 'production', '--follow', '--timestamps', '-n', '5'], /r1-\S+ \| hello .* \(r1\) listening/);
    const output = collect(follow.child);
    try {
      // The line written before ferry followed has no recorded time (the instance writes its own file): a dash.
      expect(await follow.matched).toMatch(new RegExp(`^- {23} production-r1-\\S+ \\| hello .* \\(r1\\) listening`, 'm'));
      project.commit({ VERSION: '2\n' }, 'r2');
      const deploy = await project.ferry(['deploy', 'production']);
      expect(deploy.code, deploy.stdout + deploy.stderr).toBe(0);
      // r2 is attached once it serves; r1's shutdown, seen as it happened, carries the time ferry read it.
      const seen = await output.until(/production-r1-\S+ detached/);
      expect(seen).toMatch(/==> production-r2-\S+ \(r2\) attached <==/);
      expect(seen).toMatch(/production-r2-\S+ \| hello .* \(r2\) listening/);
      expect(seen).toMatch(new RegExp(`^${ISO} production-r1-\\S+ \\| SIGTERM: finishing in-flight requests`, 'm'));
    } finally {
      follow.child.kill('SIGINT');
    }
  }, 60_000);

  it('--json prints one record per line', async () => {
    const follow = ferryUntil(project, ['logs', 'production', '--follow', '--json', '-n', '1'], /"line":"hello/);
    try {
      const records = (await follow.matched).split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
      expect(records[0]).toMatchObject({ event: 'attached', instance: expect.stringMatching(/^production-r2-/), release: 'r2' });
      expect(records[1]).toMatchObject({ instance: records[0].instance, release: 'r2', at: null, line: expect.stringMatching(/^hello .* \(r2\) listening/) });
    } finally {
      follow.child.kill('SIGINT');
    }
  });
});

/** Everything a running command prints from now on, and a wait for what it has not printed yet. */
function collect(child: ChildProcess) {
  let output = '';
  const waiters: Array<() => void> = [];
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const waiter of waiters) waiter();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  return {
    until: (pattern: RegExp, timeoutMs = 20_000) =>
      new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms:\n${output}`)), timeoutMs);
        const check = () => {
          if (!pattern.test(output)) return;
          clearTimeout(timer);
          resolve(output);
        };
        waiters.push(check);
        check();
      }),
  };
}
