import { loadConfig } from '../config/load.js';
import { agentAnswering, agentPost, findAgent, spawnAgentProcess } from '../agent/client.js';
import { runDeployment } from './deploy.js';
import { progress, type Io } from './output.js';
import { statePaths } from '../state/paths.js';

/**
 * `ferry up` (what `npm start` runs): the agent (a child with a scrubbed environment), every environment
 * deployed, the addresses printed; Ctrl-C stops the agent, the router and the instances.
 */
export async function up(io: Io, projectDir: string): Promise<number> {
  const say = progress(io);
  const config = loadConfig(projectDir);
  const running = await findAgent(projectDir);
  if (running) say(`an agent already runs for ${projectDir}; deploying through it (stop it with \`ferry agent stop\`)`);
  const child = running ? undefined : spawnAgentProcess(projectDir, { output: 'file' });
  const info = running ?? (await agentAnswering(projectDir, child!));
  if (child) say(`ferry agent (pid ${info.pid}) started; its output goes to ${statePaths(projectDir).agentOut}`);
  // Ctrl-C at any time, during the first deploys too, stops what this command started: the agent (detached,
  // so the terminal's SIGINT does not reach it) is asked to stop with the router and the instances.
  const exited = child ? new Promise<void>((resolve) => child.once('exit', () => resolve())) : Promise.resolve();
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    say('stopping: the agent, the router and the instances');
    void agentPost(info, '/api/shutdown', { stopRouter: true }).catch(() => child?.kill('SIGTERM'));
  };
  if (child) {
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  }
  let worst = 0;
  for (const env of Object.keys(config.environments)) {
    if (stopping) break;
    say(`\n== ${env} ==`);
    let code: number;
    try {
      code = await runDeployment({ ...io, json: false, out: say }, { projectDir, env, kind: 'deploy' });
    } catch (error) {
      // The agent stopping under a deploy because the person asked it to is not an error to report.
      if (stopping) break;
      throw error;
    }
    worst = Math.max(worst, code);
  }
  if (stopping) {
    await exited;
    return 130;
  }
  say('');
  for (const [env, envConfig] of Object.entries(config.environments)) say(`${env.padEnd(12)} http://127.0.0.1:${envConfig.port}`);
  say(`dashboard    ${info.url}/  (sign in with \`ferry token\`)`);
  say(`API          ${info.url}/api  (bearer token: \`ferry token\`)`);
  if (!child) return worst;
  say('ferry is running; Ctrl-C stops it (agent, router and instances).');
  await exited;
  return worst;
}
