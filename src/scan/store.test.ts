import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb } from '../store/db.js';
import { ScanStore } from './store.js';
import type { ToolReport } from './types.js';

const dir = mkdtempSync(join(tmpdir(), 'ferry-scan-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rule = (id: string, severity: ToolReport['rules'][number]['severity']) => ({ id, name: id, short: `${id} title`, full: '', help: `upgrade to fix ${id}`, url: `https://example.test/${id}`, severity, tags: [] });
const finding = (ruleId: string, severity: ToolReport['findings'][number]['severity']) => ({ ruleId, severity, message: `${ruleId} found`, package: 'left-pad', version: '1.0.0', location: { file: 'package-lock.json', line: 1 } });

describe('ScanStore', () => {
  it("keeps each tool's newest report: findings worst first with their fix, counts by severity, and a tool that never ran or could not scan as not scanned", () => {
    const db = openDb(join(dir, 'ferry.db'));
    const store = new ScanStore(db, () => 1000);
    store.record([{ tool: 'npm-audit', scanned: true, rules: [rule('GHSA-1', 'high')], findings: [finding('GHSA-1', 'high')] }], 'aaa');
    store.record(
      [
        { tool: 'npm-audit', scanned: true, rules: [rule('GHSA-2', 'low'), rule('GHSA-3', 'critical')], findings: [finding('GHSA-2', 'low'), finding('GHSA-3', 'critical')] },
        { tool: 'trivy', scanned: false, reason: 'trivy is not installed', rules: [], findings: [] },
      ],
      'bbb',
    );
    const tools = Object.fromEntries(store.latest().map((t) => [t.tool, t]));
    expect(tools['npm-audit']).toMatchObject({ scanned: true, commit: 'bbb', counts: { critical: 1, low: 1, high: 0 } });
    expect(tools['npm-audit'].findings.map((f) => [f.ruleId, f.title, f.fix, f.url])).toEqual([
      ['GHSA-3', 'GHSA-3 title', 'upgrade to fix GHSA-3', 'https://example.test/GHSA-3'],
      ['GHSA-2', 'GHSA-2 title', 'upgrade to fix GHSA-2', 'https://example.test/GHSA-2'],
    ]);
    expect(tools.trivy).toMatchObject({ scanned: false, reason: 'trivy is not installed', findings: [] });
    expect(tools.licenses).toMatchObject({ scanned: false, reason: 'ferry scan has not run licenses for this project', at: null });
    db.close();
  });
});
