// npm run bench:ci -- [--project <dir>] [--stage <name> ...]: the pipeline's wall time, in one run of this script,
// three ways: stages one after another (-j 1) with a cold cache, the same stages at once with a cold cache,
// and again at once with nothing changed (all cached). Targets: parallel ≤ 0.6 × sequential; cached ≤ 0.1 × sequential.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { parse } from 'yaml';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { appNameFor } from '../src/config/app-name.js';
import { FERRY_BIN, REPO_ROOT } from '../test/support/project.js';

const arg = (name: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const stages = process.argv.flatMap((a, i) => (process.argv[i - 1] === '--stage' ? [a] : []));
const source = resolve(arg('--project') ?? join(REPO_ROOT, 'example'));

/** A copy in a temp dir, as a git repository, so the runs share nothing with the source's own .ferry. */
function copyProject(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-ci-bench-'));
  cpSync(source, dir, { recursive: true, filter: (from) => !from.includes(`${source}/.ferry`) && !from.includes('/.git/') && !from.endsWith('/.git') });
  const git = (...args: string[]) => spawnSync('git', args, { cwd: dir, stdio: 'ignore' });
  if (!existsSync(join(dir, '.git'))) {
    git('init', '-q');
    git('add', '-A');
    git('-c', 'user.name=bench', '-c', 'user.email=bench@localhost', 'commit', '-qm', 'bench');
  }
  return dir;
}

interface Run {
  wallMs: number;
  stageSumMs: number;
  outcome: string;
  stages: Array<{ name: string; state: string; durationMs: number; cached: boolean; detail: string | null }>;
}

/** The machine's busy and total CPU time so far, in clock ticks, from /proc/stat (every process: the engine and databases too). */
function cpuTicks(): { busy: number; total: number } {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = fields.map(Number);
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

function ci(dir: string, extra: string[]): Run & { busyShare: number } {
  const args = [FERRY_BIN, 'ci', '--json', '--project', dir, ...stages.flatMap((s) => ['--stage', s]), ...extra];
  const before = cpuTicks();
  const result = spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const after = cpuTicks();
  return { ...(JSON.parse(result.stdout) as Run), busyShare: (after.busy - before.busy) / (after.total - before.total) };
}

/**
 * A cold run must not find Docker's own layer cache warm either: drop the image the previous run built, then the
 * untagged images its other build stages left (`docker image prune`: every dangling image on the engine).
 */
function dropBuiltImage(dir: string): void {
  const config = existsSync(join(dir, 'ferry.yml')) ? (parse(readFileSync(join(dir, 'ferry.yml'), 'utf8')) as { app?: string }) : {};
  const app = config.app ?? appNameFor((JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string }).name);
  spawnSync('docker', ['image', 'rm', '-f', `${app}:ci`], { stdio: 'ignore' });
  spawnSync('docker', ['image', 'prune', '-f'], { stdio: 'ignore' });
}

const dir = copyProject();
try {
  console.log(`project: ${source}${stages.length ? `, stages: ${stages.join(' ')}` : ''}`);
  // One after another first: the parallel run then knows each stage's duration, as any pipeline's second run does,
  // and starts the longest chain first.
  dropBuiltImage(dir);
  const sequential = ci(dir, ['--no-cache', '-j', '1']);
  dropBuiltImage(dir);
  const parallel = ci(dir, ['--no-cache']);
  const cached = ci(dir, []);
  console.log('\nstage            parallel (cold)   sequential (cold)   again, nothing changed');
  for (const s of parallel.stages) {
    const seq = sequential.stages.find((x) => x.name === s.name)!;
    const warm = cached.stages.find((x) => x.name === s.name)!;
    const cell = (r: { state: string; durationMs: number }) => `${r.state} ${(r.durationMs / 1000).toFixed(1)}s`.padEnd(19);
    console.log(`${s.name.padEnd(17)}${cell(s)}${cell(seq)}${warm.state} ${(warm.durationMs / 1000).toFixed(1)}s`);
  }
  const ratio = (a: number, b: number) => (a / b).toFixed(2);
  console.log(`\nwall: parallel ${(parallel.wallMs / 1000).toFixed(1)}s, sequential ${(sequential.wallMs / 1000).toFixed(1)}s, nothing changed ${(cached.wallMs / 1000).toFixed(1)}s`);
  console.log(`parallel / sequential = ${ratio(parallel.wallMs, sequential.wallMs)} (target ≤ 0.6); nothing changed / sequential = ${ratio(cached.wallMs, sequential.wallMs)} (target ≤ 0.1)`);
  console.log(`outcomes: ${parallel.outcome}, ${sequential.outcome}, ${cached.outcome}`);
  // What any schedule could reach on this machine: no faster than the longest stage, nor than the CPU work spread
  // over every core (the sequential run's busy share of all the machine's cores).
  const longest = Math.max(...sequential.stages.map((s) => s.durationMs));
  console.log(
    `floor on this machine: longest stage ${(longest / 1000).toFixed(1)}s = ${ratio(longest, sequential.wallMs)} of sequential; ` +
      `all ${cpus().length} cores were busy ${(sequential.busyShare * 100).toFixed(0)}% of the sequential run (${(parallel.busyShare * 100).toFixed(0)}% of the parallel one), ` +
      `so no schedule beats ${Math.max(longest / sequential.wallMs, sequential.busyShare).toFixed(2)}`,
  );
  // The logs go with the temp copy: print what a failed stage said before they do.
  for (const [label, run] of [['parallel', parallel], ['sequential', sequential], ['nothing changed', cached]] as const) {
    for (const s of run.stages.filter((x) => x.state === 'failed')) console.log(`\n${label}: ${s.name} failed: ${s.detail}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
