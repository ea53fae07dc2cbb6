import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isProcessAlive, isSameProcessAlive, processStartTime } from './sleep.js';

describe('whether a process is alive', () => {
  it('a zombie (exited, not yet reaped by its parent) is not: it answers signal 0 but can hold nothing', async () => {
    // A child runs in the background of a shell that then becomes `sleep`, which never reaps it. The child outlives
    // the shell's exec by a second: a child that ended first could be reaped by the shell itself (seen once, loaded).
    const parent = spawn('sh', ['-c', 'sleep 1 & echo $!; exec sleep 15'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const pid = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (chunk) => resolve(String(chunk).trim()))));
      const state = () => { const stat = readFileSync(`/proc/${pid}/stat`, 'utf8'); return stat.charAt(stat.lastIndexOf(')') + 2); };
      for (let i = 0; i < 500 && state() !== 'Z'; i++) await new Promise((r) => setTimeout(r, 20));
      expect(state()).toBe('Z');
      expect(() => process.kill(pid, 0)).not.toThrow();
      expect(isProcessAlive(pid)).toBe(false);
      expect(isSameProcessAlive(pid, processStartTime(pid))).toBe(false);
      expect(isProcessAlive(parent.pid!)).toBe(true);
    } finally {
      parent.kill('SIGKILL');
    }
  });
});
