import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { statePaths } from '../state/paths.js';
import { CONFIG_FILE, loadConfig } from '../config/load.js';
import { pipelineSchema } from '../config/schema.js';
import { appNameFor } from '../config/app-name.js';
import { orderStages, selectStages } from '../ci/graph.js';
import { projectFiles } from '../ci/inputs.js';
import { runPipeline, type StageResult } from '../ci/runner.js';
import { branchDecision, type BranchDecision } from '../ci/branches.js';
import { runDeployment } from './deploy.js';
import { applySkips, defaultStages, DOCKERFILE_BUILDS, type PlannedStage } from '../ci/stages.js';
import { PipelineStore } from '../ci/store.js';
import { isTestStage, pipelineOutcome, type PipelineOutcome } from '../ci/outcome.js';
import { openDb } from '../store/db.js';
import { deployableTag } from '../ci/deployable-image.js';
import { FerryError, errorMessage } from '../util/errors.js';
import { ExitCode } from '../errors/exit-codes.js';
import { run } from '../util/run.js';
import { progress, type Io } from './output.js';
import { FERRY_BIN } from '../agent/client.js';

export interface CiOptions {
  stage?: string[];
  /** After a green pipeline, deploy where `branches` maps the branch. */
  deploy?: boolean;
  branch?: string;
  cache?: boolean;
  concurrency?: number;
  failFast?: boolean;
}

/** The stages of ferry.yml's `pipeline.stages`, or the defaults for a Node project when it names none (or there is no ferry.yml). */
function plannedStages(projectDir: string): { stages: PlannedStage[]; failFast: boolean; concurrency?: number } {
  const hasConfig = existsSync(join(projectDir, CONFIG_FILE));
  const config = hasConfig ? loadConfig(projectDir) : undefined;
  const pipeline = config?.pipeline ?? pipelineSchema.parse({});
  const skipped = (stages: PlannedStage[]) => {
    try {
      return applySkips(stages, pipeline.skip);
    } catch (error) {
      throw new FerryError({ code: 'PIPELINE_INVALID', message: errorMessage(error), hint: 'Fix pipeline.skip in ferry.yml.' });
    }
  };
  if (pipeline.stages) return { stages: skipped(Object.entries(pipeline.stages).map(([name, s]) => ({ name, ...s }))), failFast: pipeline.fail_fast, concurrency: pipeline.concurrency };
  const manifest = existsSync(join(projectDir, 'package.json')) ? (JSON.parse(readFileSync(join(projectDir, 'package.json'), 'utf8')) as { name?: string; scripts?: Record<string, string> }) : {};
  const app = config?.app ?? appNameFor(manifest.name);
  // The image the pipeline builds is the one the deploy builds: the first container environment's Dockerfile and build_args.
  const containerEnv = Object.values(config?.environments ?? {}).find((env) => env.runtime !== 'process');
  const image = containerEnv ? { dockerfile: containerEnv.dockerfile, buildArgs: containerEnv.build_args } : undefined;
  const dockerfile = join(projectDir, image?.dockerfile ?? 'Dockerfile');
  const hasDockerfile = existsSync(dockerfile);
  const dockerfileBuilds = hasDockerfile && DOCKERFILE_BUILDS.test(readFileSync(dockerfile, 'utf8'));
  const hasTrivy = (process.env.PATH ?? '').split(':').some((dir) => dir && existsSync(join(dir, 'trivy')));
  const environments = Object.keys(config?.environments ?? {}).length;
  const facts = { scripts: manifest.scripts ?? {}, hasTsconfig: existsSync(join(projectDir, 'tsconfig.json')), hasDockerfile, dockerfileBuilds, app, hasTrivy, image, noContainerEnvironment: environments > 0 && !containerEnv, deployableTag: image && deployableTag(projectDir, app, image) };
  return { stages: skipped(defaultStages(facts)), failFast: pipeline.fail_fast, concurrency: pipeline.concurrency };
}

/** Stage commands find `ferry` on PATH: a shim in the state folder runs this very ferry. */
function ferryShim(stateDir: string): string {
  const dir = join(stateDir, 'bin');
  mkdirSync(dir, { recursive: true });
  const shim = join(dir, 'ferry');
  writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${FERRY_BIN}" "$@"\n`);
  chmodSync(shim, 0o755);
  return dir;
}

export async function ci(io: Io, projectDir: string, options: CiOptions): Promise<number> {
  const planned = plannedStages(projectDir);
  let stages: PlannedStage[];
  try {
    stages = selectStages(orderStages(planned.stages), options.stage ?? []);
  } catch (error) {
    throw new FerryError({ code: 'PIPELINE_INVALID', message: errorMessage(error) });
  }
  const paths = statePaths(projectDir);
  const store = new PipelineStore(openDb(paths.db));
  const git = async (...args: string[]) => {
    const result = await run('git', args, { cwd: projectDir, timeoutMs: 10_000 });
    return result.exitCode === 0 ? result.stdout.trim() : null;
  };
  const runId = store.startRun(await git('rev-parse', 'HEAD'), await git('rev-parse', '--abbrev-ref', 'HEAD'));
  const concurrency = options.concurrency ?? planned.concurrency ?? availableParallelism();
  const say = progress(io);
  say(`pipeline run #${runId}: ${stages.map((s) => s.name).join(', ')} (concurrency ${concurrency}, ${options.failFast ?? planned.failFast ? 'fail-fast' : 'no fail-fast'}${options.cache === false ? ', no cache' : ''})`);
  const files = await projectFiles(projectDir);
  // Without git, ferry cannot list the inputs, so it cannot tell a changed project from an unchanged one.
  if (!files && options.cache !== false) say('not a git repository: every stage runs (the cache needs git to list the inputs)');
  const startedAt = Date.now();
  const results = await runPipeline({
    projectDir,
    stages,
    files: files ?? [],
    failFast: options.failFast ?? planned.failFast,
    concurrency,
    useCache: options.cache !== false && files !== undefined,
    logDir: paths.ciRun(runId),
    env: { ...process.env, PATH: `${ferryShim(paths.root)}:${process.env.PATH ?? ''}`, FERRY_PIPELINE_RUN: String(runId) },
    store,
    runId,
    say,
  });
  const wallMs = Date.now() - startedAt;
  if (files) warnOfUnignoredOutputs(say, files, await projectFiles(projectDir));
  const verdict = pipelineOutcome(results, { wholePipeline: !options.stage?.length, isTest: (name) => isTestStage(stages.find((s) => s.name === name) ?? { name }) });
  store.finishRun(runId, verdict.outcome, wallMs);
  let code: number = { succeeded: ExitCode.succeeded, failed: ExitCode.failedPreviousServing, unchecked: ExitCode.nothingChecked }[verdict.outcome];
  const sumMs = results.reduce((sum, r) => sum + r.durationMs, 0);
  const branch = options.deploy ? options.branch ?? process.env.GITHUB_REF_NAME ?? (await git('rev-parse', '--abbrev-ref', 'HEAD')) ?? 'HEAD' : undefined;
  const decision = options.deploy ? decide(projectDir, branch!) : undefined;
  if (io.json) io.out(JSON.stringify({ runId, outcome: verdict.outcome, exitCode: code, gaps: verdict.gaps, wallMs, stageSumMs: sumMs, stages: results, ...(decision ? { branch, decision } : {}) }, null, 2));
  else printTable(io, results, runId, verdict, wallMs, sumMs, paths.ciRun(runId), code);
  if (!decision) return code;
  if (verdict.outcome === 'failed') {
    say('not deploying: the pipeline failed');
    return code;
  }
  const allowed = loadConfig(projectDir).pipeline.deploy_unchecked;
  if (verdict.outcome === 'unchecked' && decision.action === 'deploy') {
    if (!allowed) {
      say(`not deploying: the pipeline checked less than it must (${verdict.gaps.join('; ')}). To deploy such runs anyway, set pipeline.deploy_unchecked in ferry.yml to the reason.`);
      return code;
    }
    say(`deploying although the pipeline checked less than it must (${verdict.gaps.join('; ')}): pipeline.deploy_unchecked says "${allowed}"`);
  }
  if (decision.action === 'deploy') {
    say(`${branch} → ${decision.env} (branches: "${decision.rule}"): deploying`);
    code = await runDeployment(io.json ? { ...io, out: io.err } : io, { projectDir, env: decision.env, kind: 'deploy', ref: 'HEAD' });
  } else if (decision.action === 'through') {
    say(`${branch} deploys nothing itself: it reaches ${decision.env ?? 'its environment'} by merging into ${decision.branch} (branches: "${decision.rule}")`);
  } else {
    say(`${branch} maps to no environment in ferry.yml's branches: nothing to deploy`);
  }
  return code;
}

/**
 * Files the stages wrote that git neither tracks nor ignores become inputs of every stage (the default inputs are
 * every file git sees), so the next run would find nothing cached. Says which, so they can go in .gitignore.
 */
function warnOfUnignoredOutputs(say: (line: string) => void, before: string[], after: string[] | undefined): void {
  const known = new Set(before);
  const written = (after ?? []).filter((file) => !known.has(file));
  if (written.length === 0) return;
  const shown = written.slice(0, 5).join(', ') + (written.length > 5 ? ` and ${written.length - 5} more` : '');
  say(`the stages wrote ${written.length} file(s) that git does not ignore: ${shown}. They count as inputs, so the next run will find nothing cached: add them to .gitignore.`);
}

function decide(projectDir: string, branch: string): BranchDecision {
  const config = loadConfig(projectDir);
  try {
    return branchDecision(branch, config.branches, Object.keys(config.environments));
  } catch (error) {
    throw new FerryError({ code: 'BRANCH_POLICY', message: errorMessage(error) });
  }
}

function printTable(io: Io, results: StageResult[], runId: number, verdict: PipelineOutcome, wallMs: number, sumMs: number, logDir: string, code: number): void {
  const width = Math.max(5, ...results.map((r) => r.name.length));
  io.out(`\n${'stage'.padEnd(width)}  ${'result'.padEnd(10)}  ${'duration'.padStart(9)}  cached`);
  for (const r of results) io.out(`${r.name.padEnd(width)}  ${r.state.padEnd(10)}  ${`${(r.durationMs / 1000).toFixed(1)}s`.padStart(9)}  ${r.cached ? 'yes' : 'no'}${r.state === 'skipped' || r.state === 'cancelled' || r.state === 'unchecked' ? `  (${r.detail})` : ''}`);
  const ended = verdict.outcome === 'failed' ? `failed at ${verdict.failed.join(', ')}` : verdict.outcome === 'unchecked' ? `UNCHECKED: nothing failed, but ${verdict.gaps.join('; ')}` : 'succeeded';
  io.out(`\npipeline run #${runId} ${ended} in ${(wallMs / 1000).toFixed(1)}s wall (stages took ${(sumMs / 1000).toFixed(1)}s together); logs in ${logDir} (exit ${code})`);
}
