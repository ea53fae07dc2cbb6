import { defineConfig } from 'vitest/config';
import HeavyFirst from './test/support/heavy-first.js';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 90_000,
    hookTimeout: 60_000,
    // ferry's state (outside each project) goes to a per-run XDG_STATE_HOME, removed at the end.
    globalSetup: ['test/support/global-setup.ts'],
    // The default report, then the ten slowest files: where the suite's minutes go.
    reporters: ['default', './test/support/slowest-files.ts'],
    pool: 'forks',
    // A fork runs one file after another without starting afresh for each: the files start their own agents,
    // routers and apps as child processes and share no module state (the unit files: 13 CPU-s instead of 24).
    isolate: false,
    // Three at once on two cores: most files wait on processes, sockets and health checks as much as they
    // compute (a full run: 600 s with two, 484 s with three), and the slowest start first.
    maxWorkers: 3,
    sequence: { sequencer: HeavyFirst },
    // Imports its JSON schema without an import attribute, which Node 20 refuses; let vite load it.
    server: { deps: { inline: ['@actions/workflow-parser'] } },
  },
});
