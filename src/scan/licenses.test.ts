import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { scanSchema } from '../config/schema.js';
import { checkLicenses } from './licenses.js';
import { readLockfile } from './lockfile.js';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A project whose lockfile lists one dependency per licence, each installed with that licence in its package.json. */
function projectWith(licences: Record<string, string>): string {
  dir = mkdtempSync(join(tmpdir(), 'ferry-licences-'));
  const packages: Record<string, unknown> = { '': { name: 'app', dependencies: Object.fromEntries(Object.keys(licences).map((name) => [name, '1.0.0'])) } };
  for (const [name, license] of Object.entries(licences)) {
    packages[`node_modules/${name}`] = { version: '1.0.0', license };
    mkdirSync(join(dir, 'node_modules', name), { recursive: true });
    writeFileSync(join(dir, 'node_modules', name, 'package.json'), JSON.stringify({ name, version: '1.0.0', license }));
  }
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'app', lockfileVersion: 3, packages }, null, 2));
  return dir;
}

describe('the default licence policy', () => {
  const policy = () => {
    const { allow, exceptions, include_dev } = scanSchema.parse({}).licenses;
    return { allow, exceptions, includeDev: include_dev };
  };

  it("accepts the permissive licences npm's own packages use, Artistic-2.0 among them", () => {
    const project = projectWith({ 'npm-like': 'Artistic-2.0', mit: 'MIT', either: '(MIT OR Apache-2.0)', blue: 'BlueOak-1.0.0' });
    expect(checkLicenses(project, readLockfile(project), policy()).findings).toEqual([]);
  });

  it('still refuses copyleft', () => {
    const project = projectWith({ copyleft: 'GPL-3.0-only', ok: 'ISC' });
    expect(checkLicenses(project, readLockfile(project), policy()).findings.map((f) => f.package)).toEqual(['copyleft']);
  });
});
