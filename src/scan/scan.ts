import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ScanConfig } from '../config/schema.js';
import { cycloneDx, parseDependencyCheck, runTrivy } from './external.js';
import { checkLicenses } from './licenses.js';
import { readLockfile, type LockedPackage } from './lockfile.js';
import { parseNpmAudit, runNpmAudit } from './npm-audit.js';
import { toSarif } from './sarif.js';
import { atLeast, SEVERITIES, type Severity, type ToolName, type ToolReport } from './types.js';

export interface ScanRequest {
  projectDir: string;
  config: ScanConfig;
  /** A recorded `npm audit --json` output to read instead of running npm audit (paths: absolute or from the cwd). */
  auditReport?: string;
  dependencyCheckReport?: string;
  image?: string;
  /** Only these tools (default: all). */
  tools?: ToolName[];
  log: (line: string) => void;
}

export interface ScanOutcome {
  reports: ToolReport[];
  failOn: Severity;
  failing: number;
  counts: Record<string, Record<Severity, number>>;
}

/** Runs the scanners (all, or `tools`); each either scans or says why it could not. */
export async function scanProject(request: ScanRequest): Promise<ToolReport[]> {
  const wanted = (tool: ToolName) => !request.tools?.length || request.tools.includes(tool);
  const packages = readLockfile(request.projectDir);
  const reports: ToolReport[] = [];
  if (wanted('npm-audit')) reports.push(await audit(request, packages));
  if (wanted('licenses')) reports.push(checkLicenses(request.projectDir, packages, { allow: request.config.licenses.allow, exceptions: request.config.licenses.exceptions, includeDev: request.config.licenses.include_dev }));
  if (wanted('trivy')) {
    request.log('trivy …');
    reports.push(await runTrivy(request.projectDir, packages, request.image));
  }
  if (wanted('dependency-check')) {
    reports.push(
      request.dependencyCheckReport
        ? parseDependencyCheck(request.dependencyCheckReport, packages)
        : { tool: 'dependency-check', scanned: false, reason: 'no report given (--dependency-check <report.json>)', rules: [], findings: [] },
    );
  }
  return reports;
}

function audit(request: ScanRequest, packages: LockedPackage[]): Promise<ToolReport> | ToolReport {
  return request.auditReport
    ? parseNpmAudit(readFileSync(request.auditReport, 'utf8'), packages)
    : (request.log('npm audit --json …'), runNpmAudit(request.projectDir, packages));
}

export function summarize(reports: ToolReport[], failOn: Severity): ScanOutcome {
  const counts: ScanOutcome['counts'] = {};
  for (const report of reports) {
    counts[report.tool] = Object.fromEntries(SEVERITIES.map((s) => [s, report.findings.filter((f) => f.severity === s).length])) as Record<Severity, number>;
  }
  const failing = reports.flatMap((r) => r.findings).filter((f) => atLeast(f.severity, failOn)).length;
  return { reports, failOn, failing, counts };
}

/** Writes `<dir>/<tool>.sarif` for every tool (a tool that did not scan says so in its run) and returns the paths. */
export function writeSarifFiles(reports: ToolReport[], dir: string, version: string): string[] {
  mkdirSync(dir, { recursive: true });
  return reports.map((report) => {
    const file = join(dir, `${report.tool}.sarif`);
    writeFileSync(file, JSON.stringify(toSarif(report, version), null, 2));
    return file;
  });
}

export function writeSbom(projectDir: string, file: string): number {
  const sbom = cycloneDx(projectDir, readLockfile(projectDir));
  writeFileSync(file, JSON.stringify(sbom, null, 2));
  return sbom.components.length;
}

export const hasLockfile = (projectDir: string) => existsSync(join(projectDir, 'package-lock.json'));
