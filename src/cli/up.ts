import { loadConfig } from '../config/load.js';
import { startAgent } from '../agent/agent.js';
import { findAgent } from './agent-client.js';
import { runDeployment } from './deploy.js';
import { progress, type Io } from './output.js';

/**
 * `ferry up` (what `npm start` runs): the agent in the foreground, every environment deployed,
 * the addresses printed; Ctrl-C stops the agent, the router and the instances.
 */
export async function up(io: Io, projectDir: string): Promise<number> {
  const say = progress(io);
  const config = loadConfig(projectDir);
  const running = await findAgent(projectDir);
  if (running) say(`an agent already runs for ${projectDir}; deploying through it (stop it with \`ferry agent stop\`)`);
  const agent = running ? undefined : await startAgent({ projectDir });
  if (agent) say(`ferry agent (pid ${agent.info.pid}) started${agent.routerStarted ? ' with a new router' : ''}`);
  for (const warning of agent?.warnings ?? []) say(`warning: ${warning}`);
  let worst = 0;
  for (const env of Object.keys(config.environments)) {
    say(`\n== ${env} ==`);
    const code = await runDeployment({ ...io, json: false, out: say }, { projectDir, env, kind: 'deploy' });
    worst = Math.max(worst, code);
  }
  const info = agent?.info ?? running!;
  say('');
  for (const [env, envConfig] of Object.entries(config.environments)) say(`${env.padEnd(12)} http://127.0.0.1:${envConfig.port}`);
  say(`status page  ${info.url}/`);
  say(`API          ${info.url}/api  (bearer token in .ferry/agent.json)`);
  if (!agent) return worst;
  say('ferry is running; Ctrl-C stops it (agent, router and instances).');
  const stop = () => void agent.close({ stopRouter: true });
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await agent.stopped;
  return worst;
}
