import { defineConfig } from 'vitest/config';

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
    maxWorkers: 2,
    // Imports its JSON schema without an import attribute, which Node 20 refuses; let vite load it.
    server: { deps: { inline: ['@actions/workflow-parser'] } },
  },
});
