import { statePaths } from '../state/paths.js';
import { privateDir } from '../shared/file-modes.js';
import { loadConfig } from '../config/load.js';
import { loadTokens, rotateToken, type TokenRole } from '../agent/tokens.js';
import { agentPost, findAgent } from '../agent/client.js';
import type { Io } from './output.js';

/**
 * `ferry token [--read-only] [--rotate]`: prints the API's admin token (or the read-only one) on stdout, for
 * the dashboard's sign-in, Prometheus' credentials file or a script; --rotate replaces it (the running agent
 * takes the new one at once, and sessions signed in with the old one end).
 */
export async function token(io: Io, projectDir: string, options: { readOnly: boolean; rotate: boolean }): Promise<number> {
  loadConfig(projectDir);
  const role: TokenRole = options.readOnly ? 'read' : 'admin';
  const paths = statePaths(projectDir);
  privateDir(paths.root);
  const agent = await findAgent(projectDir);
  let value: string;
  if (options.rotate && agent) value = (await agentPost<{ token: string }>(agent, '/api/tokens/rotate', { role })).token;
  else value = (options.rotate ? rotateToken(paths.tokens, role) : loadTokens(paths.tokens))[role];
  const dashboard = agent ? `${agent.url}/` : null;
  if (io.json) {
    io.out(JSON.stringify({ role, token: value, rotated: options.rotate, dashboard, tokenFile: paths.tokens }));
    return 0;
  }
  // What it is goes to stderr; stdout carries the token alone.
  const say = io.err;
  say(role === 'admin' ? 'admin token: deploy, roll back, promote, and sign the dashboard in' : 'read-only token: the dashboard and the API, looking only (for sharing)');
  if (options.rotate) say(`rotated: the old ${role === 'admin' ? 'admin' : 'read-only'} token and the dashboard sessions signed in with it no longer work`);
  say(dashboard ? `dashboard: ${dashboard}` : 'dashboard: the agent is not running (`ferry agent -d` starts it)');
  io.out(value);
  return 0;
}
