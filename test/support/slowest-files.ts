import type { Reporter, TestModule } from 'vitest/node';

/** At the end of a run: the ten test files that took longest (where the suite's time goes; issue 23 keeps it in minutes). */
export default class SlowestFiles implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const timed = testModules.map((module) => ({ file: module.relativeModuleId, ms: module.diagnostic().duration })).sort((a, b) => b.ms - a.ms);
    if (timed.length < 2) return;
    console.log('\nslowest test files:');
    for (const { file, ms } of timed.slice(0, 10)) console.log(`  ${(ms / 1000).toFixed(1).padStart(6)} s  ${file}`);
  }
}
