import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../test/support/project.js';
import { parseDependencyCheck, parseTrivy } from './external.js';
import { readLockfile } from './lockfile.js';

const fixture = join(REPO_ROOT, 'test/fixtures/scan-project');
const packages = readLockfile(fixture);

describe("other tools' reports", () => {
  it("reads Trivy's JSON: image findings point at the Dockerfile, npm findings at the lockfile line", () => {
    const report = parseTrivy(readFileSync(join(fixture, 'trivy-image.json'), 'utf8'), packages);
    expect(report.findings.map((f) => [f.ruleId, f.package, f.severity, `${f.location.file}:${f.location.line}`])).toEqual([
      ['CVE-2024-2961', 'libc6', 'high', 'Dockerfile:1'],
      ['CVE-2020-8203', 'lodash', 'high', `package-lock.json:${packages.find((p) => p.name === 'lodash')!.line}`],
    ]);
    expect(report.rules[0]).toMatchObject({ score: 7.3, url: 'https://avd.aquasec.com/nvd/cve-2024-2961' });
  });

  it("reads OWASP dependency-check's JSON report", () => {
    const report = parseDependencyCheck(join(fixture, 'dependency-check.json'), packages);
    expect(report).toMatchObject({ scanned: true, version: '9.0.9' });
    expect(report.findings).toEqual([expect.objectContaining({ ruleId: 'CVE-2021-23337', package: 'lodash', version: '4.17.15', severity: 'high' })]);
    expect(parseDependencyCheck(join(fixture, 'missing.json'), packages)).toMatchObject({ scanned: false, reason: expect.stringMatching(/no report at/) });
  });
});
