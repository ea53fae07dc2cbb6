import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shellStartScript } from './shell-command.js';

/** What `sh -c` makes of the script: the pid it reports is the shell's own unless the last program replaced it. */
const run = (command: string) => spawnSync('/bin/sh', ['-c', shellStartScript(command)], { encoding: 'utf8', cwd: '/' });

describe('shellStartScript', () => {
  it('execs a single program, also after leading assignments', () => {
    expect(shellStartScript('node server.js')).toBe('exec node server.js');
    expect(shellStartScript('node server.js --port $PORT > out.log')).toBe('exec node server.js --port $PORT > out.log');
    expect(shellStartScript("NODE_ENV=production DEBUG='a b' node dist/main.js")).toBe("NODE_ENV=production DEBUG='a b' exec node dist/main.js");
    expect(run('FOO=1 printenv FOO').stdout).toBe('1\n');
  });

  it('runs a command of several programs as written, so each of them runs', () => {
    for (const command of ['npm run build && node server.js', 'cd api && node index.js', 'migrate; node server.js', 'node a.js | tee log', '(cd api; node x)', 'export A=1; node x', 'cd api']) {
      expect(shellStartScript(command)).toBe(command);
    }
    // Each would break with exec in front: the second program never ran, or exec found no program `cd`.
    expect(run('true && echo second').stdout).toBe('second\n');
    expect(run('cd /tmp && pwd').stdout).toBe('/tmp\n');
    expect(spawnSync('/bin/sh', ['-c', 'exec cd /tmp && pwd'], { encoding: 'utf8' }).status).not.toBe(0);
  });
});
