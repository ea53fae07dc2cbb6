import { describe, expect, it } from 'vitest';
import { byCriticalPath, criticalPath, orderStages } from './graph.js';
import type { PlannedStage } from './stages.js';

const stage = (name: string, needs: string[] = [], skip?: string): PlannedStage => ({ name, run: 'true', needs, timeout: '1m', skip });
// The reference service's shape: quick checks, a host build after the tests, and a long image build with its scan.
const stages = orderStages([stage('audit'), stage('test'), stage('build', ['test']), stage('image'), stage('image-scan', ['image'])]);
const lastMs = new Map([['audit', 2000], ['test', 2000], ['build', 1000], ['image', 20_000], ['image-scan', 1000]]);

describe('critical path first', () => {
  it("counts each stage's duration plus the longest chain that needs it", () =>
    expect(Object.fromEntries(criticalPath(stages, lastMs))).toEqual({ audit: 2000, test: 3000, build: 1000, image: 21_000, 'image-scan': 1000 }));
  it('starts the long image build before the quick checks', () => expect(byCriticalPath(stages, lastMs).map((s) => s.name)).toEqual(['image', 'test', 'audit', 'build', 'image-scan']));
  it('keeps dependency order without history, and a skipped stage counts as nothing', () => {
    expect(byCriticalPath(stages, new Map()).map((s) => s.name)).toEqual(stages.map((s) => s.name));
    expect(criticalPath(orderStages([stage('image', [], 'no Dockerfile')]), lastMs).get('image')).toBe(0);
  });
});
