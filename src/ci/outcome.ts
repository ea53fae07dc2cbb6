import type { StageResult } from './runner.js';

export interface PipelineOutcome {
  /** `unchecked`: nothing failed, but something was not checked: never green, never a reason to deploy by itself. */
  outcome: 'succeeded' | 'failed' | 'unchecked';
  failed: string[];
  /** What was not checked, one line each: a scan that could not scan, a pipeline that tested nothing. */
  gaps: string[];
}

const TEST_STAGE = /^(test|coverage)(\b|[-_])/;

/** Whether a stage runs tests: its `tests:` setting, else its name. */
export const isTestStage = (stage: { name: string; tests?: boolean }) => stage.tests ?? TEST_STAGE.test(stage.name);

/** Pure: how a pipeline run ends. A whole run (no --stage) in which no test stage succeeded tested nothing. */
export function pipelineOutcome(results: StageResult[], options: { wholePipeline: boolean; isTest: (name: string) => boolean }): PipelineOutcome {
  const failed = results.filter((r) => r.state === 'failed').map((r) => r.name);
  const gaps = results.filter((r) => r.state === 'unchecked').map((r) => `${r.name}: ${r.detail ?? 'checked nothing'}`);
  if (options.wholePipeline) {
    const tests = results.filter((r) => options.isTest(r.name));
    if (!tests.some((r) => r.state === 'succeeded' || r.state === 'cached')) {
      gaps.push(tests.length ? `nothing tested (${tests.map((t) => `${t.name} ${t.state}${t.detail ? `: ${t.detail.split('\n')[0]}` : ''}`).join('; ')})` : 'nothing tested: the pipeline has no test stage');
    }
  }
  return { outcome: failed.length ? 'failed' : gaps.length ? 'unchecked' : 'succeeded', failed, gaps };
}
