export const SEVERITIES = ['info', 'low', 'moderate', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const atLeast = (severity: Severity, threshold: Severity) => SEVERITIES.indexOf(severity) >= SEVERITIES.indexOf(threshold);

/** Where a finding points: a line of package-lock.json, or the Dockerfile for image findings. */
export interface FindingLocation {
  file: string;
  line: number;
}

export interface Rule {
  id: string;
  name: string;
  short: string;
  full: string;
  help: string;
  url?: string;
  severity: Severity;
  /** CVSS base score (0-10) when the advisory has one: GitHub's `security-severity`. */
  score?: number;
  tags: string[];
}

export interface Finding {
  ruleId: string;
  severity: Severity;
  message: string;
  package: string;
  version?: string;
  location: FindingLocation;
}

export type ToolName = 'npm-audit' | 'licenses' | 'trivy' | 'dependency-check';

/** One tool's outcome. A tool that could not run is `scanned: false` with the reason, never "0 findings". */
export interface ToolReport {
  tool: ToolName;
  scanned: boolean;
  reason?: string;
  /** What the tool was and what it read, for SARIF's tool.driver and for people. */
  version?: string;
  rules: Rule[];
  findings: Finding[];
}
