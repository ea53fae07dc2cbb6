import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import picomatch from 'picomatch';
import { run } from '../util/run.js';
import type { PlannedStage } from './stages.js';

/** Every file git knows in the project: tracked, plus untracked ones it does not ignore; never ferry's own state. Undefined outside git. */
export async function projectFiles(projectDir: string): Promise<string[] | undefined> {
  const listed = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', '.', ':(exclude).ferry'], { cwd: projectDir, timeoutMs: 30_000 });
  if (listed.exitCode !== 0) return undefined;
  return [...new Set(listed.stdout.split('\0').filter(Boolean))].sort();
}

/**
 * The key a green result is reused under: the stage's own definition and the content of its inputs
 * (globs, default every project file). Change one byte of an input, or the command, and the stage runs again.
 */
export function inputKey(projectDir: string, files: string[], stage: PlannedStage, fileHash: (path: string) => string): string {
  const match = stage.inputs ? picomatch(stage.inputs, { dot: true }) : () => true;
  const hash = createHash('sha256').update(JSON.stringify({ run: stage.run, needs: stage.needs, inputs: stage.inputs ?? null }));
  for (const file of files) if (match(file)) hash.update(`${file}\0${fileHash(file)}\0`);
  return hash.digest('hex');
}

/** Hashes each file once per run, whatever number of stages read it. */
export function fileHasher(projectDir: string): (path: string) => string {
  const cache = new Map<string, string>();
  return (path) => {
    let digest = cache.get(path);
    if (digest === undefined) {
      const full = join(projectDir, path);
      digest = existsSync(full) && statSync(full).isFile() ? createHash('sha256').update(readFileSync(full)).digest('hex') : 'missing';
      cache.set(path, digest);
    }
    return digest;
  };
}
