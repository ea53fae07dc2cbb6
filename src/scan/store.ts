import type { Db } from '../store/db.js';
import { SEVERITIES, type Finding, type Rule, type Severity, type ToolName, type ToolReport } from './types.js';

/** The tools `ferry scan` knows: one never run is "not scanned", never clean. */
export const SCAN_TOOLS: readonly ToolName[] = ['npm-audit', 'licenses', 'trivy', 'dependency-check'];

/** A tool's latest report, as the dashboard shows it: each finding with its fix. */
export interface ToolSummary {
  tool: ToolName;
  scanned: boolean;
  /** Why it did not scan (or that it never ran). */
  reason: string | null;
  at: number | null;
  commit: string | null;
  counts: Record<Severity, number>;
  findings: Array<Finding & { title: string; fix: string; url: string | null }>;
}

/** Each `ferry scan`'s reports, in the project's ferry.db. */
export class ScanStore {
  constructor(private readonly db: Db, private readonly now: () => number = Date.now) {}

  record(reports: ToolReport[], commit: string | null): void {
    const insert = this.db.prepare('INSERT INTO scan_reports (at, commit_sha, tool, scanned, reason, version, rules_json, findings_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    const at = this.now();
    this.db.transaction(() => {
      for (const r of reports) insert.run(at, commit, r.tool, r.scanned ? 1 : 0, r.reason ?? null, r.version ?? null, JSON.stringify(r.rules), JSON.stringify(r.findings));
    })();
  }

  /** The newest report of every tool, worst findings first; a tool that never ran says so. */
  latest(): ToolSummary[] {
    const newest = this.db.prepare('SELECT * FROM scan_reports WHERE tool = ? ORDER BY id DESC LIMIT 1');
    return SCAN_TOOLS.map((tool) => {
      const row = newest.get(tool) as { at: number; commit_sha: string | null; scanned: number; reason: string | null; rules_json: string; findings_json: string } | undefined;
      const counts = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
      if (!row) return { tool, scanned: false, reason: `ferry scan has not run ${tool} for this project`, at: null, commit: null, counts, findings: [] };
      const rules = new Map((JSON.parse(row.rules_json) as Rule[]).map((rule) => [rule.id, rule]));
      const findings = (JSON.parse(row.findings_json) as Finding[])
        .map((finding) => {
          counts[finding.severity]++;
          const rule = rules.get(finding.ruleId);
          return { ...finding, title: rule?.short ?? finding.ruleId, fix: rule?.help ?? '', url: rule?.url ?? null };
        })
        .sort((a, b) => SEVERITIES.indexOf(b.severity) - SEVERITIES.indexOf(a.severity));
      return { tool, scanned: row.scanned === 1, reason: row.reason, at: row.at, commit: row.commit_sha, counts, findings };
    });
  }
}
