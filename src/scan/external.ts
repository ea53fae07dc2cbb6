import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage } from '../util/errors.js';
import { run } from '../util/run.js';
import { lineOf, LOCKFILE, type LockedPackage } from './lockfile.js';
import type { Finding, Rule, Severity, ToolReport } from './types.js';

const severityOf = (text: string | undefined): Severity => {
  const s = (text ?? '').toUpperCase();
  return s === 'CRITICAL' ? 'critical' : s === 'HIGH' ? 'high' : s === 'MEDIUM' || s === 'MODERATE' ? 'moderate' : s === 'LOW' ? 'low' : 'info';
};

function addRule(rules: Map<string, Rule>, rule: Rule): void {
  if (!rules.has(rule.id)) rules.set(rule.id, rule);
}

interface TrivyVulnerability {
  VulnerabilityID: string;
  PkgName: string;
  InstalledVersion?: string;
  FixedVersion?: string;
  Severity?: string;
  Title?: string;
  Description?: string;
  PrimaryURL?: string;
  CVSS?: Record<string, { V3Score?: number }>;
}

/** Trivy's JSON (`trivy image|fs --format json`). Image findings point at the Dockerfile, dependency findings at the lockfile. */
export function parseTrivy(json: string, packages: LockedPackage[], dockerfile = 'Dockerfile'): ToolReport {
  let report: { Results?: Array<{ Target: string; Class?: string; Vulnerabilities?: TrivyVulnerability[] }>; Trivy?: { Version?: string } };
  try {
    report = JSON.parse(json);
  } catch (error) {
    return { tool: 'trivy', scanned: false, reason: `trivy printed no JSON: ${errorMessage(error)}`, rules: [], findings: [] };
  }
  const rules = new Map<string, Rule>();
  const findings: Finding[] = [];
  for (const result of report.Results ?? []) {
    const fromLockfile = /package-lock\.json$/.test(result.Target);
    for (const v of result.Vulnerabilities ?? []) {
      const severity = severityOf(v.Severity);
      const score = Object.values(v.CVSS ?? {}).map((c) => c.V3Score).find((s) => typeof s === 'number');
      addRule(rules, { id: v.VulnerabilityID, name: `${v.PkgName}: ${v.Title ?? v.VulnerabilityID}`, short: v.Title ?? v.VulnerabilityID, full: v.Description ?? v.Title ?? v.VulnerabilityID, help: `${v.PkgName} ${v.InstalledVersion ?? ''} is affected.${v.FixedVersion ? ` Fixed in ${v.FixedVersion}.` : ' No fixed version yet.'}`, url: v.PrimaryURL, severity, score, tags: ['security', 'vulnerability', result.Class ?? 'trivy'] });
      findings.push({
        ruleId: v.VulnerabilityID,
        severity,
        package: v.PkgName,
        version: v.InstalledVersion,
        message: `${v.PkgName} ${v.InstalledVersion ?? ''} in ${result.Target} (${severity}): ${v.Title ?? v.VulnerabilityID}.${v.FixedVersion ? ` Fixed in ${v.FixedVersion}.` : ''}`,
        location: fromLockfile ? { file: LOCKFILE, line: lineOf(packages, v.PkgName) } : { file: dockerfile, line: 1 },
      });
    }
  }
  return { tool: 'trivy', scanned: true, version: report.Trivy?.Version, rules: [...rules.values()], findings };
}

/** Runs trivy on the image (or, without one, on the project) when it is installed; otherwise "not scanned". */
export async function runTrivy(projectDir: string, packages: LockedPackage[], image: string | undefined, timeoutMs = 600_000): Promise<ToolReport> {
  const found = await run('trivy', ['--version'], { timeoutMs: 10_000 });
  if (found.exitCode !== 0) return { tool: 'trivy', scanned: false, reason: 'trivy is not installed (https://trivy.dev); image and filesystem vulnerabilities were not scanned', rules: [], findings: [] };
  const args = image ? ['image', '--format', 'json', '--quiet', image] : ['fs', '--format', 'json', '--quiet', '--scanners', 'vuln', '.'];
  const result = await run('trivy', args, { cwd: projectDir, timeoutMs });
  if (result.exitCode !== 0) return { tool: 'trivy', scanned: false, reason: `trivy ${args[0]} failed: ${result.stderr.trim().split('\n').at(-1) ?? `exit ${result.exitCode}`}`, rules: [], findings: [] };
  return parseTrivy(result.stdout, packages);
}

interface DependencyCheckReport {
  scanInfo?: { engineVersion?: string };
  dependencies?: Array<{
    fileName: string;
    packages?: Array<{ id: string }>;
    vulnerabilities?: Array<{ name: string; severity?: string; description?: string; cvssv3?: { baseScore?: number }; references?: Array<{ url?: string }> }>;
  }>;
}

/** OWASP dependency-check's JSON report (`--format JSON`), when one is given. */
export function parseDependencyCheck(file: string, packages: LockedPackage[]): ToolReport {
  if (!existsSync(file)) return { tool: 'dependency-check', scanned: false, reason: `no report at ${file}`, rules: [], findings: [] };
  let report: DependencyCheckReport;
  try {
    report = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    return { tool: 'dependency-check', scanned: false, reason: `${file} is not JSON: ${errorMessage(error)}`, rules: [], findings: [] };
  }
  const rules = new Map<string, Rule>();
  const findings: Finding[] = [];
  for (const dependency of report.dependencies ?? []) {
    const purl = dependency.packages?.find((p) => p.id.startsWith('pkg:npm/'))?.id;
    const [, name, version] = purl ? /^pkg:npm\/(.+)@([^@]+)$/.exec(decodeURIComponent(purl)) ?? [] : [];
    for (const v of dependency.vulnerabilities ?? []) {
      const severity = severityOf(v.severity);
      const url = v.references?.find((r) => r.url)?.url;
      addRule(rules, { id: v.name, name: v.name, short: (v.description ?? v.name).split('\n')[0].slice(0, 200), full: v.description ?? v.name, help: `${name ?? dependency.fileName} is affected by ${v.name}.`, url, severity, score: v.cvssv3?.baseScore, tags: ['security', 'vulnerability', 'dependency-check'] });
      findings.push({
        ruleId: v.name,
        severity,
        package: name ?? dependency.fileName,
        version,
        message: `${name ?? dependency.fileName}${version ? ` ${version}` : ''} (${severity}): ${v.name}.`,
        location: { file: LOCKFILE, line: name ? lineOf(packages, name) : 1 },
      });
    }
  }
  return { tool: 'dependency-check', scanned: true, version: report.scanInfo?.engineVersion, rules: [...rules.values()], findings };
}

/** A CycloneDX 1.5 SBOM of the installed tree (name, version, purl, licence, scope). */
export function cycloneDx(projectDir: string, packages: LockedPackage[]) {
  const manifest = existsSync(join(projectDir, 'package.json')) ? (JSON.parse(readFileSync(join(projectDir, 'package.json'), 'utf8')) as { name?: string; version?: string }) : {};
  const purl = (name: string, version: string) => `pkg:npm/${name.startsWith('@') ? `%40${name.slice(1)}` : name}@${version}`;
  const unique = new Map(packages.map((p) => [`${p.name}@${p.version}`, p]));
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    version: 1,
    metadata: {
      timestamp: new Date().toISOString(),
      tools: { components: [{ type: 'application', name: 'ferry' }] },
      component: { type: 'application', name: manifest.name ?? 'project', version: manifest.version ?? '0.0.0', 'bom-ref': 'root' },
    },
    components: [...unique.values()].map((p) => ({
      type: 'library',
      'bom-ref': purl(p.name, p.version),
      name: p.name,
      version: p.version,
      purl: purl(p.name, p.version),
      scope: p.dev ? 'excluded' : p.optional ? 'optional' : 'required',
      ...(p.license ? { licenses: [{ expression: p.license }] } : {}),
    })),
  };
}
