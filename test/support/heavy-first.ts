import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The files that take longest (seconds in a full run here, 3 workers on 2 cores), started first: a fresh clone
 * has no timings from an earlier run, and vitest would order it by file size, leaving a two-minute file for
 * the end of the run. The rest follow in vitest's own order.
 */
const HEAVY_FIRST = [
  'src/init/ferry-install.integration.test.ts', // 197 s: installs and builds ferry by each route the README names
  'src/init/real-projects.integration.test.ts', // 101 s
  'src/remote/hosts.integration.test.ts', // 83 s
  'src/runtime/swarm/swarm.integration.test.ts', // 74 s
  'src/remote/two-hosts.integration.test.ts', // 63 s
  'src/router/process-tree.integration.test.ts', // 57 s
  'src/agent/dashboard.integration.test.ts', // 56 s
  'src/runtime/docker/engine-restart.integration.test.ts', // 49 s
];

export default class HeavyFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification) => {
      const at = HEAVY_FIRST.indexOf(relative(file.project.config.root, file.moduleId));
      return at === -1 ? HEAVY_FIRST.length : at;
    };
    const ordered = await super.sort(files);
    return ordered.map((file, index) => ({ file, index })).sort((a, b) => rank(a.file) - rank(b.file) || a.index - b.index).map(({ file }) => file);
  }
}
