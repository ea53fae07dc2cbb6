import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../config/load.js';
import { FERRY_BIN, REPO_ROOT } from '../test-support/project.js';

/** The errors GitHub's own workflow parser finds in a workflow file; none means it parses. */
const workflowErrors = (name: string, content: string) => parseWorkflow({ name, content }, new NoOperationTraceWriter()).context.errors.getErrors().map((e) => e.message);

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-init-'));
  cpSync(join(REPO_ROOT, 'example/package.json'), join(dir, 'package.json'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const ferryInit = (args: string[] = []) =>
  new Promise<{ code: number; stdout: string }>((resolve) => {
    const child = spawn(process.execPath, [FERRY_BIN, 'init', ...args, '--project', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout }));
  });

describe('ferry init', () => {
  it('writes ferry.yml, a Dockerfile, .dockerignore and three workflows that GitHub’s parser accepts', async () => {
    const result = await ferryInit();
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^wrote {5}ferry\.yml$/m);
    expect(readdirSync(join(dir, '.github/workflows')).sort()).toEqual(['ci.yml', 'deploy.yml', 'rollback.yml']);
    for (const name of ['ci.yml', 'deploy.yml', 'rollback.yml']) {
      expect(workflowErrors(name, readFileSync(join(dir, '.github/workflows', name), 'utf8')), name).toEqual([]);
    }
    const ci = parse(readFileSync(join(dir, '.github/workflows/ci.yml'), 'utf8'));
    expect(ci.permissions['security-events']).toBe('write');
    expect(ci.concurrency['cancel-in-progress']).toBe("${{ github.event_name == 'pull_request' }}");
    expect(Object.keys(ci.jobs.pipeline.services)).toEqual(['mongo', 'redis']);
    expect(ci.jobs.pipeline.steps.find((s: any) => s.uses?.startsWith('actions/setup-node')).with.cache).toBe('npm');
    expect(ci.jobs.pipeline.steps.some((s: any) => s.uses?.startsWith('github/codeql-action/upload-sarif'))).toBe(true);
    const deploy = parse(readFileSync(join(dir, '.github/workflows/deploy.yml'), 'utf8'));
    expect(deploy.on.push.branches).toEqual(['develop', 'main']);
    expect(deploy.concurrency['cancel-in-progress']).toBe(false);
    expect(deploy.jobs.deploy.environment).toMatch(/main.*production.*staging/);
    const rollback = parse(readFileSync(join(dir, '.github/workflows/rollback.yml'), 'utf8'));
    expect(Object.keys(rollback.on.workflow_dispatch.inputs)).toEqual(['environment', 'release']);
    // Inputs reach the shell through env, never pasted into the script.
    expect(rollback.jobs.rollback.steps.at(-1).run).not.toContain('${{');

    const config = loadConfig(dir);
    expect(config.branches).toEqual({ develop: 'staging', main: 'production', 'hotfix/*': { through: 'main' } });
    expect(readFileSync(join(dir, 'Dockerfile'), 'utf8')).toMatch(/USER 1000:1000[\s\S]*HEALTHCHECK[\s\S]*CMD \["node", "server.js"\]/);
  });

  it('never overwrites a file without --force, and says so', async () => {
    writeFileSync(join(dir, 'Dockerfile'), 'FROM mine\n');
    const result = await ferryInit();
    expect(result.stdout).toMatch(/^kept {6}Dockerfile \(exists; --force replaces it\)$/m);
    expect(readFileSync(join(dir, 'Dockerfile'), 'utf8')).toBe('FROM mine\n');
    expect((await ferryInit(['--force'])).stdout).toMatch(/^overwrote Dockerfile$/m);
    expect(readFileSync(join(dir, 'Dockerfile'), 'utf8')).not.toBe('FROM mine\n');
  });

  it("this repository's ci.yml is what `ferry init --workflows` writes for it (from its ferry.yml)", async () => {
    cpSync(join(REPO_ROOT, 'package.json'), join(dir, 'package.json'));
    cpSync(join(REPO_ROOT, 'ferry.yml'), join(dir, 'ferry.yml'));
    cpSync(join(REPO_ROOT, 'bin/ferry.js'), join(dir, 'bin/ferry.js'));
    const result = await ferryInit(['--workflows']);
    expect(result.stdout).not.toMatch(/deploy\.yml|Dockerfile/); // no environments: nothing to deploy
    expect(readFileSync(join(dir, '.github/workflows/ci.yml'), 'utf8')).toBe(readFileSync(join(REPO_ROOT, '.github/workflows/ci.yml'), 'utf8'));
  });

  it("this repository's own workflows parse without errors", () => {
    const dir = join(REPO_ROOT, '.github/workflows');
    for (const name of readdirSync(dir)) expect(workflowErrors(name, readFileSync(join(dir, name), 'utf8')), name).toEqual([]);
  });
});
