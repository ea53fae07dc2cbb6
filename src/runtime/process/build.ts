import { writeFileSync } from 'node:fs';
import { FerryError } from '../../util/errors.js';
import { redact } from '../../util/redact.js';
import { run } from '../../util/run.js';

const LAST_LINES = 20;


/** Runs the environment's build command in the release directory; a failure carries its last lines. Secret values never reach output or the log. */
export async function runBuild(options: { command: string; cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number; logFile: string; secrets: string[]; onLine: (line: string) => void }): Promise<void> {
  const lines: string[] = [];
  const result = await run('/bin/sh', ['-c', options.command], {
    cwd: options.cwd,
    env: options.env,
    timeoutMs: options.timeoutMs,
    onLine: (line) => {
      const clean = redact(line, options.secrets);
      lines.push(clean);
      options.onLine(clean);
    },
  });
  writeFileSync(options.logFile, redact(result.stdout + result.stderr, options.secrets), { mode: 0o600 });
  if (result.exitCode === 0) return;
  const why = result.timedOut ? `timed out after ${options.timeoutMs}ms` : `exited with code ${result.exitCode}`;
  throw new FerryError({ code: 'BUILD_FAILED', message: `build \`${options.command}\` ${why}; last lines:\n${lines.slice(-LAST_LINES).join('\n')}`, hint: `Full output in ${options.logFile}` });
}
