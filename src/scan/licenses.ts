import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import parse from 'spdx-expression-parse';
import satisfies from 'spdx-satisfies';
import { errorMessage } from '../util/errors.js';
import { LOCKFILE, lockfileListsPackages, type LockedPackage } from './lockfile.js';
import type { Finding, Rule, ToolReport } from './types.js';

export interface LicensePolicy {
  allow: string[];
  /** Packages accepted whatever their licence, each with the reason. */
  exceptions: Record<string, string>;
  includeDev: boolean;
}

const RULES: Record<'denied' | 'unknown' | 'invalid', Rule> = {
  denied: {
    id: 'license/not-allowed',
    name: 'License not allowed',
    short: 'A dependency is licensed under terms the project does not allow.',
    full: 'The SPDX expression of this dependency cannot be satisfied by the licences in scan.licenses.allow.',
    help: 'Replace the dependency, or, after legal review, add it to scan.licenses.exceptions with the reason.',
    severity: 'high',
    tags: ['license', 'compliance'],
  },
  unknown: {
    id: 'license/unknown',
    name: 'License unknown',
    short: 'A dependency declares no licence.',
    full: 'Neither package-lock.json nor the installed package.json gives a licence for this dependency.',
    help: 'Find the licence (repository, LICENSE file) and, if it is acceptable, add the package to scan.licenses.exceptions.',
    severity: 'moderate',
    tags: ['license', 'compliance'],
  },
  invalid: {
    id: 'license/invalid-expression',
    name: 'License expression invalid',
    short: 'A dependency declares a licence that is not a valid SPDX expression.',
    full: 'The licence field is not a valid SPDX expression, so it cannot be evaluated against the policy.',
    help: 'Check the package\'s real licence and add it to scan.licenses.exceptions if it is acceptable.',
    severity: 'moderate',
    tags: ['license', 'compliance'],
  },
};

/** The installed package's own licence field wins over the lockfile's copy (older lockfiles have none). */
function licenseOf(projectDir: string, pkg: LockedPackage): string | undefined {
  const manifest = join(projectDir, pkg.path, 'package.json');
  if (existsSync(manifest)) {
    const json = JSON.parse(readFileSync(manifest, 'utf8')) as { license?: string | { type?: string }; licenses?: Array<{ type?: string }> };
    const license = typeof json.license === 'string' ? json.license : json.license?.type ?? (json.licenses?.length ? json.licenses.map((l) => l.type).join(' OR ') : undefined);
    if (license) return license;
  }
  return pkg.license;
}

/** Evaluates every installed dependency's SPDX expression against the allow-list (OR needs one side, AND both). */
export function checkLicenses(projectDir: string, packages: LockedPackage[], policy: LicensePolicy): ToolReport {
  if (packages.length === 0) {
    // A lockfile that lists packages and lists none: there is nothing to check, and that is a complete check.
    if (lockfileListsPackages(projectDir)) return { tool: 'licenses', scanned: true, reason: 'no dependencies', rules: [], findings: [] };
    return { tool: 'licenses', scanned: false, reason: `no ${LOCKFILE} with packages in ${projectDir}`, rules: [], findings: [] };
  }
  const findings: Finding[] = [];
  const used = new Set<keyof typeof RULES>();
  for (const pkg of packages) {
    if ((pkg.dev && !policy.includeDev) || policy.exceptions[pkg.name]) continue;
    const license = licenseOf(projectDir, pkg);
    const at = { file: LOCKFILE, line: pkg.line };
    const finding = (kind: keyof typeof RULES, message: string) => {
      used.add(kind);
      findings.push({ ruleId: RULES[kind].id, severity: RULES[kind].severity, package: pkg.name, version: pkg.version, message, location: at });
    };
    if (!license || /^(UNLICENSED|SEE LICEN[CS]E IN .*)$/i.test(license)) {
      finding('unknown', `${pkg.name}@${pkg.version} declares ${license ? `"${license}"` : 'no licence'}.`);
      continue;
    }
    try {
      parse(license);
    } catch (error) {
      finding('invalid', `${pkg.name}@${pkg.version} declares "${license}", which is not an SPDX expression (${errorMessage(error)}).`);
      continue;
    }
    if (!satisfies(license, policy.allow)) finding('denied', `${pkg.name}@${pkg.version} is licensed "${license}", which the allow-list (${policy.allow.join(', ')}) does not satisfy.`);
  }
  return { tool: 'licenses', scanned: true, rules: [...used].map((k) => RULES[k]), findings };
}
