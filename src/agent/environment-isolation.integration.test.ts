import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createTestProject, readAgentInfo, type TestProject } from '../../test/support/project.js';
import { startWebhook } from '../../test/support/webhook.js';
import { INSTANCE_BASE_VARS } from '../shared/process-env.js';

let project: TestProject;
let hook: Awaited<ReturnType<typeof startWebhook>>;

const MARKER = 'marker-5f1c0e-of-the-production-shell';
const PROD_TOKEN = 'prod-token-9d2a';
const HOOK_SECRET = 'hook-secret-71b3';

beforeAll(async () => {
  hook = await startWebhook();
  project = await createTestProject();
  project.writeConfig((config) => {
    config.environments.production.secrets = ['PROD_TOKEN'];
    config.environments.production.notify = { webhook: `${hook.url}/`, webhook_secret_env: 'HOOK_SECRET' };
    config.environments.staging.env = { GREETING: 'hello' };
  });
  project.commit({}, 'secrets');
});
afterAll(async () => {
  await project.cleanup();
  hook?.close();
});

const environOf = (pid: number): Record<string, string> =>
  Object.fromEntries(
    readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .filter(Boolean)
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );

async function ferryPids(): Promise<{ agent: number; router: number; instances: Record<string, number> }> {
  const status = JSON.parse((await project.ferry(['status', '--json'])).stdout);
  const instances: Record<string, number> = {};
  for (const env of status.environments) for (const i of env.instances) instances[env.env] = i.pid;
  const agent = readAgentInfo(project);
  return { agent: agent.pid, router: agent.routerPid, instances };
}

describe('a secret reaches only the environment that declares it', () => {
  it('a production deploy from a shell with secrets leaks nothing into the agent, the router, staging, or ps', async () => {
    const production = await project.ferry(['deploy', 'production'], { SOME_SECRET: MARKER, PROD_TOKEN, HOOK_SECRET });
    expect(production.code, production.stdout + production.stderr).toBe(0);
    // Staging from a clean shell (this test's environment holds none of the three).
    const staging = await project.ferry(['deploy', 'staging']);
    expect(staging.code, staging.stdout + staging.stderr).toBe(0);

    const pids = await ferryPids();
    const secrets = [MARKER, PROD_TOKEN, HOOK_SECRET];
    for (const [who, pid] of [['agent', pids.agent], ['router', pids.router], ['staging instance', pids.instances.staging]] as const) {
      const text = JSON.stringify(environOf(pid));
      for (const secret of secrets) expect([who, text.includes(secret)]).toEqual([who, false]);
    }
    // Production's instance: its own release's .env, and no variable of the deploying shell.
    const prod = environOf(pids.instances.production);
    expect(prod.PROD_TOKEN).toBe(PROD_TOKEN);
    expect(JSON.stringify(prod)).not.toContain(MARKER);
    expect(JSON.stringify(prod)).not.toContain(HOOK_SECRET);
    // Staging's instance: exactly the documented base, PORT, HOST, ferry's own and its `env:`.
    const allowed = new Set<string>([...INSTANCE_BASE_VARS, 'PORT', 'HOST', 'FERRY_INSTANCE_ID', 'FERRY_SCOPE', 'FERRY_RELEASE', 'FERRY_ENV', 'GREETING', 'PWD' /* set by the /bin/sh that execs the start command */]);
    expect(Object.keys(environOf(pids.instances.staging)).filter((name) => !allowed.has(name))).toEqual([]);
    expect(environOf(pids.instances.staging)).toMatchObject({ HOST: '127.0.0.1', GREETING: 'hello' });

    // `ps e` shows every process's environment: only production's instance may show its own token.
    const ps = execFileSync('ps', ['axeww', '-o', 'pid=,args='], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).split('\n');
    const leaks = ps.filter((line) => secrets.some((secret) => line.includes(secret))).map((line) => Number(line.trim().split(/\s+/)[0]));
    expect(leaks).toEqual([pids.instances.production]);
    expect(ps.find((line) => line.includes(MARKER) || line.includes(HOOK_SECRET))).toBeUndefined();

    // The webhook's secret still signed the notification: it travelled with the request, not by inheritance.
    const delivered = hook.received.at(-1)!;
    expect(delivered.headers['x-ferry-signature']).toBe(`sha256=${createHmac('sha256', HOOK_SECRET).update(delivered.body).digest('hex')}`);
  });

  it('an agent restarted from a clean shell is clean too, and so is the router it finds', async () => {
    const before = await ferryPids();
    process.kill(before.agent, 'SIGKILL');
    const pids = await ferryPids();
    expect(pids.agent).not.toBe(before.agent);
    expect(pids.router).toBe(before.router);
    for (const pid of [pids.agent, pids.router]) expect(JSON.stringify(environOf(pid))).not.toContain(MARKER);
  });
});
