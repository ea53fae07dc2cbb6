import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../test/support/project.js';
import { staticGraph } from '../../test/support/static-graph.js';

describe("the CLI's entry", () => {
  it('loads commander and none of the heavy modules (ssh2, dockerode, acme-client, mongodb, pg, tsx, SQLite, zod, yaml…) until a command needs them', () => {
    const { files, packages } = staticGraph(join(REPO_ROOT, 'src/cli/main.ts'));
    expect([...packages].sort()).toEqual(['commander']);
    // And few of ferry's own modules: no command's.
    const own = [...files].map((file) => file.slice(join(REPO_ROOT, 'src/').length)).sort();
    expect(own).toEqual(['cli/main.ts', 'cli/output.ts', 'errors/codes.ts', 'errors/exit-codes.ts', 'shared/build-info.ts', 'util/duration.ts', 'util/errors.ts']);
  });

  it('ferry status, history and logs against a running agent load yaml and nothing heavier (no zod or ssh2): the agent validates ferry.yml', () => {
    const { packages } = staticGraph(join(REPO_ROOT, 'src/cli/read-commands.ts'));
    expect([...packages].sort()).toEqual(['yaml']);
  });

  it("ferry agent stop (each test's cleanup, a user's Ctrl-C) loads none of the agent's own code (server, deploy engine, runtimes, metrics) nor ferry.yml's schema (zod): those come with `agent --serve`", () => {
    const { files, packages } = staticGraph(join(REPO_ROOT, 'src/cli/agent-commands.ts'));
    expect([...files].map((file) => file.slice(join(REPO_ROOT, 'src/').length)).filter((file) => /^(agent\/(agent|server)|deploy\/|runtime\/|metrics\/)/.test(file))).toEqual([]);
    expect([...packages].sort()).toEqual(['yaml']);
  });

  it('ferry deploy and rollback of a local environment load no SSH, Docker or database client: those come with an environment that uses them', () => {
    const { packages } = staticGraph(join(REPO_ROOT, 'src/cli/deploy.ts'));
    for (const heavy of ['ssh2', 'dockerode', 'acme-client', 'mongodb', 'pg', 'tsx']) expect([...packages]).not.toContain(heavy);
  });
});
