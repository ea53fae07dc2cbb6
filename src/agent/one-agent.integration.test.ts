import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestProject, readAgentInfo, type TestProject } from '../../test/support/project.js';
import { sleep } from '../util/sleep.js';

let project: TestProject;
beforeAll(async () => {
  project = await createTestProject();
});
// cleanup() stops the agent, its router and instances.
afterAll(() => project.cleanup());

/** Live processes whose command line holds every one of these words (a zombie has none). */
function processesWith(...words: string[]): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (words.every((word) => args.includes(word))) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

describe('one agent per state folder', () => {
  it('ten commands started at once with no agent running: one agent and one router start, every command is answered', async () => {
    expect(processesWith('--serve', project.dir)).toEqual([]);
    const commands = [['status'], ['history'], ['status', 'production'], ['history', 'staging'], ['status', '--json'], ['metrics'], ['status', 'staging'], ['history', '-n', '3'], ['incident', 'list'], ['status']];
    const started = Date.now();
    const answers = await Promise.all(
      commands.map(async (args) => {
        const answer = await project.ferry(args);
        return { args: args.join(' '), ...answer, ms: Date.now() - started };
      }),
    );
    const slowest = Math.max(...answers.map((answer) => answer.ms));
    console.log(`ten commands at once, no agent running: ${answers.map((a) => `${a.args} → ${a.code} in ${a.ms} ms`).join('; ')}; slowest ${slowest} ms`);
    for (const answer of answers) expect(answer.code, `${answer.args}: ${answer.stderr}`).toBe(0);
    // One agent answers for the folder, and it is the only agent process of the project; the router was started once.
    const agents = processesWith('agent', '--serve', project.dir);
    expect(agents).toEqual([readAgentInfo(project).pid]);
    expect(processesWith(`${project.stateDir}`).filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('router/main.js'))).toEqual([readAgentInfo(project).routerPid]);
    // The commands that lost the race say nothing alarming: at most that an agent was started.
    for (const answer of answers) expect(answer.stderr).not.toMatch(/error|failed|did not answer/i);
    // Generous for a loaded CI machine; the figure printed above is the one that counts (issue 24: none past 10 s).
    expect(slowest).toBeLessThan(30_000);
  }, 90_000);

  it('agents started at once on one state folder (without the CLI that elects one): one holds the folder, the others say so and exit 0 without touching the router or agent.json', async () => {
    expect((await project.ferry(['agent', 'stop'])).code).toBe(0);
    const ended: Array<{ code: number; stdout: string; stderr: string }> = [];
    for (let i = 0; i < 3; i++) void project.ferry(['agent', '--serve']).then((answer) => ended.push(answer));
    // The winner serves (its command runs until stopped); the others end as soon as they find the lock held.
    for (let waited = 0; ended.length < 2 && waited < 30_000; waited += 50) await sleep(50);
    await sleep(500);
    expect(ended.length).toBe(2);
    for (const answer of ended) {
      expect(answer.code, answer.stderr).toBe(0);
      // A loser that boots after the winner already answers finds it before the lock (seen once, loaded): either says so.
      expect(answer.stdout + answer.stderr).toMatch(/another agent \(pid \d+\) holds the state folder .*: ferry uses that one|^an agent is already running for /m);
    }
    // The winner answers once it has started (on a loaded machine, after the losers have long ended).
    let info: { pid: number } | undefined;
    for (let waited = 0; !info && waited < 60_000; waited += 100) {
      try {
        info = readAgentInfo(project);
      } catch {
        await sleep(100);
      }
    }
    expect(processesWith('agent', '--serve', project.dir)).toEqual([info!.pid]);
    expect((await project.ferry(['status'])).code).toBe(0);
  }, 60_000);

  it('a broken ferry.yml with no agent running: exit 2 naming the field (the CLI checks it while the agent boots), and the agent it started is stopped', async () => {
    expect((await project.ferry(['agent', 'stop'])).code).toBe(0);
    project.writeConfig((config) => (config.app = 'Not A Name!'));
    try {
      const answers = await Promise.all([project.ferry(['status']), project.ferry(['history'])]);
      for (const answer of answers) {
        expect(answer.code, answer.stderr).toBe(2);
        expect(answer.stderr).toMatch(/ferry\.yml is invalid \(1 problem\)[^]*app: expected a lowercase name/);
      }
      for (let waited = 0; processesWith('agent', '--serve', project.dir).length > 0 && waited < 10_000; waited += 50) await sleep(50);
      expect(processesWith('agent', '--serve', project.dir)).toEqual([]);
    } finally {
      project.writeConfig();
    }
    expect((await project.ferry(['status'])).code).toBe(0);
  }, 60_000);
});
