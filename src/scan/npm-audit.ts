import { errorMessage } from '../util/errors.js';
import { run } from '../util/run.js';
import { lineOf, LOCKFILE, type LockedPackage } from './lockfile.js';
import type { Finding, Rule, Severity, ToolReport } from './types.js';

interface Advisory {
  source: number;
  name: string;
  title: string;
  url?: string;
  severity: Severity;
  cwe?: string[];
  cvss?: { score?: number; vectorString?: string | null };
  range?: string;
}

interface Vulnerability {
  name: string;
  severity: Severity;
  isDirect: boolean;
  via: Array<string | Advisory>;
  effects: string[];
  range: string;
  fixAvailable: boolean | { name: string; version: string; isSemVerMajor: boolean };
}

interface AuditReport {
  auditReportVersion?: number;
  vulnerabilities?: Record<string, Vulnerability>;
  message?: string;
  error?: { summary?: string; detail?: string; code?: string };
}

/** The advisory's id: the GHSA id from its URL, else npm's numeric source. */
const advisoryId = (a: Advisory) => a.url?.match(/GHSA-[\w-]+/)?.[0] ?? `npm-${a.source}`;

function fixText(fix: Vulnerability['fixAvailable']): string {
  if (fix === true) return '`npm audit fix` resolves it.';
  if (fix && typeof fix === 'object') return `Upgrading ${fix.name} to ${fix.version}${fix.isSemVerMajor ? ' (a semver-major change)' : ''} resolves it.`;
  return 'No fixed version is available yet: consider replacing the package or accepting the risk.';
}

/**
 * Findings from `npm audit --json`. Only auditReportVersion 2 counts as a scan; anything else (npm's
 * error object when the registry refuses the audit, an old format, no JSON) is "not scanned", with the reason.
 */
export function parseNpmAudit(output: string, packages: LockedPackage[]): ToolReport {
  let report: AuditReport;
  try {
    report = JSON.parse(output) as AuditReport;
  } catch {
    return { tool: 'npm-audit', scanned: false, reason: `npm audit printed no JSON: ${output.trim().split('\n').at(-1)?.slice(0, 200) || '(nothing)'}`, rules: [], findings: [] };
  }
  if (report.auditReportVersion !== 2) {
    const reason = report.message ?? report.error?.summary ?? report.error?.detail ?? `auditReportVersion ${report.auditReportVersion ?? 'missing'} (only 2 is understood)`;
    return { tool: 'npm-audit', scanned: false, reason: `npm audit did not run: ${reason}`, rules: [], findings: [] };
  }
  const rules = new Map<string, Rule>();
  const findings: Finding[] = [];
  for (const vulnerability of Object.values(report.vulnerabilities ?? {})) {
    for (const via of vulnerability.via) {
      if (typeof via === 'string') continue; // reached through another vulnerable package: that one carries the advisory
      const id = advisoryId(via);
      if (!rules.has(id)) {
        rules.set(id, {
          id,
          name: `${via.name}: ${via.title}`,
          short: via.title,
          full: `${via.title} in ${via.name} ${via.range ?? ''}`.trim(),
          help: `${via.name} ${via.range ?? ''} is affected by ${via.title}.${via.url ? ` Details: ${via.url}` : ''}`,
          url: via.url,
          severity: via.severity,
          score: via.cvss?.score || undefined,
          tags: ['security', 'vulnerability', 'npm', ...(via.cwe ?? [])],
        });
      }
      if (findings.some((f) => f.ruleId === id && f.package === via.name)) continue;
      findings.push({
        ruleId: id,
        severity: via.severity,
        package: via.name,
        message: `${via.name} ${via.range ?? ''} (${via.severity}): ${via.title}.${vulnerability.effects.length ? ` Reached by: ${vulnerability.effects.join(', ')}.` : ''} ${fixText(vulnerability.fixAvailable)}`.replace(/\s+/g, ' ').trim(),
        location: { file: LOCKFILE, line: lineOf(packages, via.name) },
      });
    }
  }
  return { tool: 'npm-audit', scanned: true, rules: [...rules.values()], findings };
}

/** Runs `npm audit --json` in the project (argv, no shell). Its exit code says "found something", not "failed": the JSON decides. */
export async function runNpmAudit(projectDir: string, packages: LockedPackage[], timeoutMs = 120_000): Promise<ToolReport> {
  try {
    const result = await run('npm', ['audit', '--json'], { cwd: projectDir, timeoutMs });
    const report = parseNpmAudit(result.stdout, packages);
    if (!report.scanned && !result.stdout.trim()) report.reason = `npm audit did not run: ${result.stderr.trim().split('\n').at(-1) ?? `exit ${result.exitCode}`}`;
    return report;
  } catch (error) {
    return { tool: 'npm-audit', scanned: false, reason: `npm audit could not be started: ${errorMessage(error)}`, rules: [], findings: [] };
  }
}
