import { createHash } from 'node:crypto';
import type { Finding, Rule, Severity, ToolReport } from './types.js';

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = { critical: 'error', high: 'error', moderate: 'warning', low: 'note', info: 'note' };
/** GitHub ranks code-scanning alerts by `security-severity` (a CVSS-like score); these stand in when an advisory has none. */
const SCORE: Record<Severity, number> = { critical: 9.5, high: 8.0, moderate: 5.5, low: 2.0, info: 0.0 };
const VULNERABILITY_TOOLS = new Set(['npm-audit', 'trivy', 'dependency-check']);

const DRIVER_INFO: Record<ToolReport['tool'], { name: string; uri: string }> = {
  'npm-audit': { name: 'ferry npm-audit', uri: 'https://docs.npmjs.com/cli/commands/npm-audit' },
  licenses: { name: 'ferry licenses', uri: 'https://spdx.org/licenses/' },
  trivy: { name: 'ferry trivy', uri: 'https://trivy.dev' },
  'dependency-check': { name: 'ferry dependency-check', uri: 'https://owasp.org/www-project-dependency-check/' },
};

/** Stable across runs and line moves: GitHub uses it to follow one alert from run to run. */
const fingerprint = (f: Finding) => createHash('sha256').update(`${f.ruleId}|${f.package}|${f.version ?? ''}|${f.location.file}`).digest('hex').slice(0, 32);

function sarifRule(rule: Rule, vulnerability: boolean) {
  return {
    id: rule.id,
    name: rule.name,
    shortDescription: { text: rule.short },
    fullDescription: { text: rule.full },
    help: { text: rule.help, markdown: rule.url ? `${rule.help}\n\n[Advisory](${rule.url})` : rule.help },
    ...(rule.url ? { helpUri: rule.url } : {}),
    defaultConfiguration: { level: LEVEL[rule.severity] },
    properties: {
      tags: rule.tags,
      precision: 'high',
      problem: { severity: rule.severity },
      ...(vulnerability ? { 'security-severity': (rule.score ?? SCORE[rule.severity]).toFixed(1) } : {}),
    },
  };
}

/** One SARIF 2.1.0 log per tool, with its own automationDetails.id so code scanning keeps the tools apart. */
export function toSarif(report: ToolReport, toolVersion: string, category = report.tool) {
  const vulnerability = VULNERABILITY_TOOLS.has(report.tool);
  const ruleIndex = new Map(report.rules.map((r, i) => [r.id, i]));
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: DRIVER_INFO[report.tool].name, informationUri: DRIVER_INFO[report.tool].uri, version: report.version ?? toolVersion, rules: report.rules.map((r) => sarifRule(r, vulnerability)) } },
        automationDetails: { id: `ferry/${category}/` },
        invocations: [
          {
            executionSuccessful: report.scanned,
            ...(report.scanned ? {} : { toolExecutionNotifications: [{ level: 'error', message: { text: `not scanned: ${report.reason}` } }] }),
          },
        ],
        results: report.findings.map((f) => ({
          ruleId: f.ruleId,
          ...(ruleIndex.has(f.ruleId) ? { ruleIndex: ruleIndex.get(f.ruleId) } : {}),
          level: LEVEL[f.severity],
          message: { text: f.message },
          locations: [{ physicalLocation: { artifactLocation: { uri: f.location.file, uriBaseId: '%SRCROOT%' }, region: { startLine: f.location.line } } }],
          partialFingerprints: { 'ferryFinding/v1': fingerprint(f) },
          properties: { package: f.package, ...(f.version ? { version: f.version } : {}), severity: f.severity },
        })),
      },
    ],
  };
}
