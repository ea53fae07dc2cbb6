import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FERRY_BIN, REPO_ROOT } from '../../test/support/project.js';

const require = createRequire(import.meta.url);
// The SARIF 2.1.0 JSON Schema as Microsoft's SARIF SDK publishes it (draft-04; the registry is the only network here).
const Ajv = require('ajv-draft-04');
const addFormats = require('ajv-formats');
const sarifSchema = require('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json');
const validateSarif = (() => {
  const ajv = new Ajv({ strict: false, allErrors: true, unicodeRegExp: false });
  addFormats(ajv);
  return ajv.compile(sarifSchema);
})();

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-scan-'));
  cpSync(join(REPO_ROOT, 'test/fixtures/scan-project'), dir, { recursive: true });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function ferry(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [FERRY_BIN, 'scan', ...args, '--project', dir], { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const sarifOf = (tool: string) => JSON.parse(readFileSync(join(dir, 'sarif', `${tool}.sarif`), 'utf8'));
const lockLine = (key: string) => readFileSync(join(dir, 'package-lock.json'), 'utf8').split('\n').findIndex((l) => l.includes(`"${key}": {`)) + 1;

describe('ferry scan', () => {
  it('reads the recorded npm audit and the licence policy: findings, severities, SARIF that validates, exit 1 for --fail-on high', async () => {
    const result = await ferry(['--audit-report', 'npm-audit.json', '--dependency-check', 'dependency-check.json', '--sarif', 'sarif', '--fail-on', 'high', '--json']);
    expect(result.code, result.stderr).toBe(1);
    const out = JSON.parse(result.stdout);
    const tool = (name: string) => out.tools.find((t: any) => t.tool === name);

    expect(tool('npm-audit').scanned).toBe(true);
    expect(tool('npm-audit').findings.map((f: any) => [f.ruleId, f.package, f.severity])).toEqual([
      ['GHSA-jchw-25xp-jwwc', 'follow-redirects', 'moderate'],
      ['GHSA-p6mc-m468-83gw', 'lodash', 'high'],
      ['GHSA-xvch-5gv4-984h', 'minimist', 'critical'],
    ]);
    // GPL-3.0-only is refused under MIT and Apache-2.0; (MIT OR Apache-2.0) is fine; dev tools are not shipped, so not checked.
    expect(tool('licenses').findings.map((f: any) => [f.ruleId, f.package, f.severity])).toEqual([['license/not-allowed', 'copyleft-lib', 'high']]);
    expect(tool('trivy')).toMatchObject({ scanned: false, reason: expect.stringMatching(/trivy is not installed/) });
    expect(tool('dependency-check').findings.map((f: any) => [f.ruleId, f.package, f.severity])).toEqual([['CVE-2021-23337', 'lodash', 'high']]);
    expect(out.failing).toBe(4);

    expect(readdirSync(join(dir, 'sarif')).sort()).toEqual(['dependency-check.sarif', 'licenses.sarif', 'npm-audit.sarif', 'trivy.sarif']);
    for (const name of ['npm-audit', 'licenses', 'trivy', 'dependency-check']) {
      const log = sarifOf(name);
      expect(validateSarif(log), `${name}.sarif: ${JSON.stringify(validateSarif.errors)}`).toBe(true);
      expect(log.runs[0].automationDetails.id).toBe(`ferry/${name}/`);
    }
    const audit = sarifOf('npm-audit').runs[0];
    const lodashRule = audit.tool.driver.rules.find((r: any) => r.id === 'GHSA-p6mc-m468-83gw');
    expect(lodashRule).toMatchObject({ shortDescription: { text: 'Prototype Pollution in lodash' }, helpUri: 'https://github.com/advisories/GHSA-p6mc-m468-83gw', properties: { 'security-severity': '7.4' } });
    expect(lodashRule.help.text).toMatch(/lodash >=3.7.0 <4.17.19 is affected by Prototype Pollution in lodash/);
    const lodash = audit.results.find((r: any) => r.ruleId === 'GHSA-p6mc-m468-83gw');
    expect(lodash).toMatchObject({ level: 'error', locations: [{ physicalLocation: { artifactLocation: { uri: 'package-lock.json' }, region: { startLine: lockLine('node_modules/lodash') } } }] });
    expect(lodash.message.text).toMatch(/Upgrading lodash to 4.17.21 resolves it/);
    expect(Object.values(lodash.partialFingerprints)[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(audit.results.find((r: any) => r.ruleId === 'GHSA-xvch-5gv4-984h').message.text).toMatch(/Reached by: mkdirp/);
    const licenses = sarifOf('licenses').runs[0];
    expect(licenses.results[0]).toMatchObject({ ruleId: 'license/not-allowed', level: 'error', locations: [{ physicalLocation: { region: { startLine: lockLine('node_modules/copyleft-lib') } } }] });
    expect(licenses.tool.driver.rules[0].properties['security-severity']).toBeUndefined();
    expect(sarifOf('dependency-check').runs[0].tool.driver).toMatchObject({ version: '9.0.9', rules: [{ id: 'CVE-2021-23337', properties: { 'security-severity': '7.2' } }] });
    expect(sarifOf('trivy').runs[0].invocations[0]).toMatchObject({ executionSuccessful: false, toolExecutionNotifications: [{ message: { text: expect.stringMatching(/^not scanned: trivy is not installed/) } }] });
  });

  it('--fail-on critical passes only when nothing critical is found; exceptions and include_dev change the licence verdicts', async () => {
    const critical = await ferry(['--audit-report', 'npm-audit.json', '--fail-on', 'critical']);
    expect(critical.code).toBe(1); // minimist is critical
    expect(critical.stdout).toMatch(/npm-audit\s+scanned\s+3 \(1\/1\/1\/0\/0\)/);
    expect(critical.stdout).toMatch(/licenses\s+scanned\s+1 \(0\/1\/0\/0\/0\)/);

    const config = readFileSync(join(dir, 'ferry.yml'), 'utf8').replace('allow: [MIT, Apache-2.0]', 'allow: [MIT, Apache-2.0]\n    exceptions: { copyleft-lib: "used as a separate program, legal review 2026-11" }\n    include_dev: true');
    require('node:fs').writeFileSync(join(dir, 'ferry.yml'), config);
    const withDev = await ferry(['--audit-report', 'npm-audit.json', '--json']);
    const licenses = JSON.parse(withDev.stdout).tools.find((t: any) => t.tool === 'licenses');
    expect(licenses.findings.map((f: any) => f.package)).toEqual(['gpl-dev-tool']);
  });

  it('shows the live npm audit that this machine cannot run as "not scanned", with the reason, never as 0 findings', async () => {
    const result = await ferry(['--json']);
    const audit = JSON.parse(result.stdout).tools.find((t: any) => t.tool === 'npm-audit');
    // The registry this machine reaches refuses the bulk advisory endpoint (HTTP 405). Where it answers, the audit scans.
    if (audit.scanned) expect(audit.findings).toEqual(expect.any(Array));
    else {
      expect(audit.reason).toMatch(/^npm audit did not run: .+/);
      expect(audit.findings).toEqual([]);
      expect((await ferry([])).stdout).toMatch(/npm-audit\s+not scanned\s+npm audit did not run: [\s\S]*not scanned: npm-audit, trivy, dependency-check/);
    }
  }, 180_000);

  it('writes a CycloneDX SBOM of the installed tree', async () => {
    const result = await ferry(['--audit-report', 'npm-audit.json', '--sbom', join(dir, 'sbom.cdx.json')]);
    expect(result.stdout).toMatch(/wrote .*sbom\.cdx\.json \(CycloneDX 1\.5, 7 components\)/);
    const sbom = JSON.parse(readFileSync(join(dir, 'sbom.cdx.json'), 'utf8'));
    expect(sbom).toMatchObject({ bomFormat: 'CycloneDX', specVersion: '1.5', metadata: { component: { name: 'scan-fixture', version: '1.0.0' } } });
    expect(sbom.components.find((c: any) => c.name === 'dual-lib')).toMatchObject({ purl: 'pkg:npm/dual-lib@2.1.0', licenses: [{ expression: '(MIT OR Apache-2.0)' }], scope: 'required' });
    expect(sbom.components.find((c: any) => c.name === 'gpl-dev-tool').scope).toBe('excluded');
  });

  it('--upload sends each SARIF file gzipped and base64-encoded, with the commit and ref, to the code-scanning API', async () => {
    const received: Array<{ url: string; auth: string; body: any }> = [];
    const github = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ url: req.url!, auth: req.headers.authorization!, body: JSON.parse(body) });
        res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ id: `upload-${received.length}`, url: 'http://example/sarifs/1' }));
      });
    });
    await new Promise<void>((r) => github.listen(0, '127.0.0.1', () => r()));
    try {
      const sha = 'a'.repeat(40);
      const env = { GITHUB_API_URL: `http://127.0.0.1:${(github.address() as { port: number }).port}`, GITHUB_TOKEN: 'ghs_test', GITHUB_REPOSITORY: 'acme/shop', GITHUB_SHA: sha, GITHUB_REF: 'refs/heads/main' };
      const result = await ferry(['--audit-report', 'npm-audit.json', '--sarif', 'sarif', '--upload', '--fail-on', 'critical'], env);
      expect(result.stdout).toMatch(/uploaded .*npm-audit\.sarif \(id upload-1\)/);
      expect(received).toHaveLength(4);
      expect(received[0]).toMatchObject({ url: '/repos/acme/shop/code-scanning/sarifs', auth: 'Bearer ghs_test', body: { commit_sha: sha, ref: 'refs/heads/main', tool_name: 'ferry npm-audit' } });
      const uploaded = JSON.parse(gunzipSync(Buffer.from(received[0].body.sarif, 'base64')).toString('utf8'));
      expect(uploaded).toEqual(sarifOf('npm-audit'));
      const missing = await ferry(['--audit-report', 'npm-audit.json', '--sarif', 'sarif', '--upload'], { ...env, GITHUB_TOKEN: '' });
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/--upload needs GITHUB_TOKEN/);
    } finally {
      github.close();
    }
  });
});
