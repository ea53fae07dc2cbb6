// npm run bench:cli -- [--runs N]: how long the CLI takes to start where people wait, as ratios to `node -e 0`
// measured in the same run (the machine is shared: compare ratios, not times from different runs): `ferry
// --version`, `ferry --help`, `ferry status` against a running agent, and `ferry status` with none (it starts the
// agent and the router, as the first command after a reboot does). Wall time is the median of N runs (default 9),
// interleaved so that a noisy moment hits every command alike; peak memory is the median max RSS (of the CLI).
// Targets (issue 23): --version and --help ≤ 2× node -e 0, status ≤ 3×.
import { spawnSync } from 'node:child_process';
import { createTestProject } from '../test/support/project.js';
import { FERRY_BIN } from '../test/support/project.js';

const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 9;

/** Wall time (ms) and max RSS (KB) of one run, read from GNU time's output. */
function measure(args: string[]): { ms: number; kb: number } {
  const result = spawnSync('/usr/bin/time', ['-f', '%e %M', process.execPath, ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  const [seconds, kb] = result.stderr.trim().split('\n').at(-1)!.split(' ').map(Number);
  return { ms: seconds * 1000, kb };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const project = await createTestProject();
try {
  const deployed = spawnSync(process.execPath, [FERRY_BIN, 'deploy', 'production', '--project', project.dir], { encoding: 'utf8' });
  if (deployed.status !== 0) throw new Error(`the deploy the status reads failed: ${deployed.stdout}${deployed.stderr}`);
  const commands: Record<string, string[]> = {
    'node -e 0': ['-e', '0'],
    'ferry --version': [FERRY_BIN, '--version'],
    'ferry --help': [FERRY_BIN, '--help'],
    'ferry status (agent running)': [FERRY_BIN, 'status', '--project', project.dir],
  };
  const samples: Record<string, Array<{ ms: number; kb: number }>> = Object.fromEntries(Object.keys(commands).map((name) => [name, []]));
  const cold = 'ferry status (starts the agent)';
  samples[cold] = [];
  for (let i = 0; i < runs; i++) {
    for (const [name, args] of Object.entries(commands)) samples[name]!.push(measure(args));
    spawnSync(process.execPath, [FERRY_BIN, 'agent', 'stop', '--project', project.dir]);
    samples[cold].push(measure([FERRY_BIN, 'status', '--project', project.dir]));
  }
  const baseline = median(samples['node -e 0']!.map((s) => s.ms));
  console.log(`bench:cli, median of ${runs} runs (GNU time: wall to 10 ms)`);
  for (const [name, each] of Object.entries(samples)) {
    const ms = median(each.map((s) => s.ms));
    console.log(`  ${name.padEnd(32)} ${String(Math.round(ms)).padStart(5)} ms  ${(ms / baseline).toFixed(2)}× node -e 0  ${Math.round(median(each.map((s) => s.kb)) / 1024)} MB peak`);
  }
} finally {
  await project.cleanup();
}
