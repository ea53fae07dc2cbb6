import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES, errorCodeTable } from './codes.js';
import { FerryError } from '../util/errors.js';
import { REPO_ROOT } from '../../test/support/project.js';

describe('error codes', () => {
  it("the README's table is the registry's (regenerate it with `npm run docs`)", () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const between = /<!-- error-codes:start -->\n([\s\S]*?)\n<!-- error-codes:end -->/.exec(readme);
    expect(between?.[1]).toBe(errorCodeTable());
  });

  it('exit codes and HTTP statuses agree: usage errors are 4xx, and a FerryError takes both from its code', () => {
    for (const [code, entry] of Object.entries(ERROR_CODES)) {
      if (entry.exitCode === 2) expect([code, entry.httpStatus >= 400 && entry.httpStatus < 500]).toEqual([code, true]);
      const error = new FerryError({ code: code as keyof typeof ERROR_CODES, message: 'x' });
      expect([error.exitCode, error.httpStatus]).toEqual([entry.exitCode, entry.httpStatus]);
    }
    expect(new FerryError({ code: 'AGENT_ERROR', message: 'x', remoteExitCode: 1 }).exitCode).toBe(1);
  });
});
