import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { FerryError } from '../util/errors.js';
import { run } from '../util/run.js';

export interface UploadTarget {
  apiUrl: string;
  repository: string;
  token: string;
  commit: string;
  ref: string;
}

/** Where to upload, from GitHub Actions' variables, falling back to git for the commit and branch. */
export async function uploadTarget(projectDir: string, env: NodeJS.ProcessEnv = process.env): Promise<UploadTarget> {
  const token = env.GITHUB_TOKEN;
  const repository = env.GITHUB_REPOSITORY;
  if (!token || !repository) {
    throw new FerryError({ code: 'UPLOAD_UNCONFIGURED', message: `--upload needs ${!token ? 'GITHUB_TOKEN' : 'GITHUB_REPOSITORY (owner/name)'} in the environment`, hint: 'In GitHub Actions, give the job `permissions: security-events: write` and pass `GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}`.' });
  }
  const git = async (...args: string[]) => (await run('git', args, { cwd: projectDir, timeoutMs: 10_000 })).stdout.trim();
  const commit = env.GITHUB_SHA ?? (await git('rev-parse', 'HEAD'));
  const ref = env.GITHUB_REF ?? `refs/heads/${await git('rev-parse', '--abbrev-ref', 'HEAD')}`;
  if (!/^[0-9a-f]{40}$/.test(commit)) throw new FerryError({ code: 'UPLOAD_UNCONFIGURED', message: 'no commit to attach the results to: set GITHUB_SHA or run in a git repository' });
  return { apiUrl: (env.GITHUB_API_URL ?? 'https://api.github.com').replace(/\/$/, ''), repository, token, commit, ref };
}

/** POSTs one SARIF file to the code-scanning API: gzip, then base64, with the commit and ref. */
export async function uploadSarif(target: UploadTarget, file: string, toolName: string): Promise<{ id?: string; url?: string }> {
  const sarif = gzipSync(readFileSync(file)).toString('base64');
  const response = await fetch(`${target.apiUrl}/repos/${target.repository}/code-scanning/sarifs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${target.token}`, accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28', 'content-type': 'application/json' },
    body: JSON.stringify({ commit_sha: target.commit, ref: target.ref, sarif, tool_name: toolName }),
  });
  const body = (await response.json().catch(() => ({}))) as { id?: string; url?: string; message?: string };
  if (!response.ok) {
    throw new FerryError({ code: 'UPLOAD_FAILED', message: `GitHub refused ${file} (HTTP ${response.status}): ${body.message ?? 'no message'}`, hint: response.status === 403 || response.status === 404 ? 'The token needs security-events: write, and code scanning must be enabled for the repository.' : undefined });
  }
  return body;
}
