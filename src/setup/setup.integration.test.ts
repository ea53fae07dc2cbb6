import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestProject, readAgentInfo, type TestProject } from '../../test/support/project.js';
import { isProcessAlive, sleep } from '../util/sleep.js';
import { execStartOf } from './units.js';

let project: TestProject;
const unitDir = mkdtempSync(join(tmpdir(), 'ferry-units-'));
beforeAll(async () => {
  project = await createTestProject();
  const deployed = await project.ferry(['deploy', 'production']);
  expect(deployed.code, deployed.stdout + deployed.stderr).toBe(0);
}, 120_000);
afterAll(async () => {
  await project.cleanup();
  rmSync(unitDir, { recursive: true, force: true });
});

/** Every process of this project: its agent, its router and workers (their command names the state folder), its instances (they run in it). */
function projectProcesses(): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      if ([project.stateDir, project.dir].some((dir) => command.includes(dir) || cwd.startsWith(dir))) pids.push(pid);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return pids;
}

/** Starts what a unit's ExecStart names, with its Environment= and WorkingDirectory=, as systemd would. */
function startAsUnit(text: string) {
  const [file, ...args] = execStartOf(text);
  const env = Object.fromEntries([...text.matchAll(/^Environment="?([A-Z_]+)=(.*?)"?$/gm)].map((m) => [m[1], m[2]]));
  const cwd = /^WorkingDirectory=(.*)$/m.exec(text)![1];
  const child = spawn(file, args, { cwd, env, stdio: 'ignore', detached: true });
  child.unref();
  return child;
}

describe('ferry setup: systemd units, and a machine that comes back', () => {
  it('writes a router and an agent unit that systemd-analyze accepts; after every ferry process and instance is killed, the router started as its unit would serves the release again', async () => {
    const setup = await project.ferry(['setup', '--unit-dir', unitDir, '--json']);
    expect(setup.code, setup.stderr).toBe(0);
    const result = JSON.parse(setup.stdout) as { units: string[]; verified: boolean | null; enabled: boolean; reason: string };
    expect(result).toMatchObject({ verified: true, enabled: false });
    const [router, agent] = result.units.map((path) => readFileSync(path, 'utf8'));
    expect(router).toMatch(/^Restart=always$/m);
    expect(agent).toMatch(/^After=.*ferry-hello-router\.service$/m);
    // No secret, token or deploying shell's variable is written into a unit.
    expect(router + agent).not.toMatch(/token|SECRET|API_KEY/i);

    // A power cut, as far as ferry can tell: every process of the project SIGKILLed at once.
    const killedAgent = readAgentInfo(project).pid;
    const before = projectProcesses();
    expect(before.length).toBeGreaterThanOrEqual(3);
    for (const pid of before) process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 100 && before.some(isProcessAlive); i++) await sleep(20);
    await expect(fetch(`http://127.0.0.1:${project.ports.production}/`)).rejects.toThrow();

    const started = Date.now();
    startAsUnit(router);
    let answered: { release: string } | undefined;
    let failures = 0;
    while (!answered && Date.now() - started < 30_000) {
      try {
        const response = await fetch(`http://127.0.0.1:${project.ports.production}/`);
        if (response.status === 200) answered = (await response.json()) as { release: string };
        else failures++;
      } catch {
        await sleep(10);
      }
    }
    const ms = Date.now() - started;
    console.log(`setup: every ferry process and instance SIGKILLed; the router started as its unit would; the serving release answered 200 after ${ms} ms (${failures} non-200 answers before)`);
    expect(answered?.release).toBe('r1');
    expect(failures).toBe(0);

    // The agent, as its unit starts it, finds the router serving and reports it.
    const agentUnit = startAsUnit(agent);
    // `ferry agent` runs the agent as its child (with a scrubbed environment): that child is the one that answers.
    let info: { pid: number } | undefined;
    // A deadline, not a count: on a loaded CI machine the agent's start took longer than 10 s.
    const agentDeadline = Date.now() + 60_000;
    while (!(info && info.pid !== killedAgent && isProcessAlive(info.pid)) && Date.now() < agentDeadline) {
      await sleep(50);
      try {
        info = readAgentInfo(project);
      } catch {
        // not written yet
      }
    }
    expect(info && info.pid !== killedAgent && isProcessAlive(info.pid), `no new agent wrote agent.json within 60 s (last: ${JSON.stringify(info)})`).toBe(true);
    expect(readFileSync(`/proc/${info!.pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]).toBe(String(agentUnit.pid));
    let status: { serving: { id: string } | null } | undefined;
    for (let i = 0; i < 100 && !status?.serving; i++) {
      const answer = await project.ferry(['status', 'production', '--json']);
      if (answer.code === 0) status = JSON.parse(answer.stdout).environments[0];
      else await sleep(100);
    }
    expect(status?.serving?.id).toBe('r1');
  }, 180_000);
});
