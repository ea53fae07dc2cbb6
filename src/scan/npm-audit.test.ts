import { describe, expect, it } from 'vitest';
import { parseNpmAudit } from './npm-audit.js';

describe('npm audit output', () => {
  it('is "not scanned" with the reason unless it is auditReportVersion 2', () => {
    const registryError = JSON.stringify({ message: '405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk', statusCode: 405, error: { summary: '', detail: '' } });
    expect(parseNpmAudit(registryError, [])).toEqual({
      tool: 'npm-audit', scanned: false, rules: [], findings: [],
      reason: 'npm audit did not run: 405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk',
    });
    expect(parseNpmAudit(JSON.stringify({ auditReportVersion: 1, advisories: {} }), []).reason).toBe('npm audit did not run: auditReportVersion 1 (only 2 is understood)');
    expect(parseNpmAudit('npm ERR! code ENOLOCK', []).reason).toBe('npm audit printed no JSON: npm ERR! code ENOLOCK');
    expect(parseNpmAudit(JSON.stringify({ auditReportVersion: 2, vulnerabilities: {} }), [])).toMatchObject({ scanned: true, findings: [] });
  });
});
