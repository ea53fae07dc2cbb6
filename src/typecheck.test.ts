import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

/** The build (scripts/build.js) only transpiles: types are checked here, for the sources, the tests and the dashboard. */
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');

function tsc(project: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [TSC, '--noEmit', '--pretty', 'false', '-p', project], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (out += chunk));
    child.on('close', (code) => resolve({ code, out }));
  });
}

describe('types', () => {
  it('ferry, its tests, benchmarks and test support type-check (tsconfig.json)', async () => {
    const { code, out } = await tsc('tsconfig.json');
    expect(out).toBe('');
    expect(code).toBe(0);
  }, 300_000);

  it("the dashboard's scripts type-check (dashboard/tsconfig.json)", async () => {
    const { code, out } = await tsc('dashboard/tsconfig.json');
    expect(out).toBe('');
    expect(code).toBe(0);
  }, 300_000);
});
