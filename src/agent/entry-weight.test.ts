import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../test/support/project.js';
import { staticGraph } from '../../test/support/static-graph.js';

describe("the agent's entry", () => {
  // Every CLI command that finds no agent waits for one to start, so what the agent loads at start is waited for.
  it('loads none of the libraries only some environments use (dockerode, ssh2, acme-client, mongodb, pg, tsx) until one is used', () => {
    const { packages } = staticGraph(join(REPO_ROOT, 'src/agent/agent.ts'));
    for (const heavy of ['dockerode', 'ssh2', 'acme-client', 'mongodb', 'pg', 'tsx']) expect([...packages]).not.toContain(heavy);
  });
});
