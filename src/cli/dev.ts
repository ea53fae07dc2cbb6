import { loadConfig } from '../config/load.js';
import { Reloader } from '../dev/reloader.js';
import { startService, type RunningService } from '../dev/services.js';
import { usageError } from '../util/errors.js';
import { progress, type Io } from './output.js';

/**
 * `ferry dev`: the project on this machine for development: the services ferry.yml's `dev.services` names
 * (containers or commands), then the app with reload on change, given the services' addresses under the same
 * variable names staging and production use. Ctrl-C stops the app and the services.
 */
export async function dev(io: Io, projectDir: string, options: { port?: number; services: boolean }): Promise<number> {
  const config = loadConfig(projectDir);
  const settings = config.dev;
  const say = progress(io);
  const production = config.environments.production ?? Object.values(config.environments)[0];
  const command = settings.start ?? production?.start;
  if (!command) throw usageError('USAGE', 'ferry dev needs a command that runs the app: dev.start in ferry.yml, or an environment with start:', 'Add `dev: { start: node server.js }` (or your dev script: npm run dev).');
  const port = options.port ?? settings.port;
  const running: RunningService[] = [];
  const stopServices = async () => {
    for (const service of running.splice(0).reverse()) await service.stop().catch(() => undefined);
  };
  try {
    if (options.services) {
      for (const [name, service] of Object.entries(settings.services)) {
        const started = await startService(config.app, name, service, { readyTimeoutMs: 60_000, say });
        running.push(started);
        say(`${name}: ${started.what} on 127.0.0.1:${started.port}${Object.keys(started.env).length ? ` (${Object.entries(started.env).map(([key, value]) => `${key}=${value}`).join(' ')})` : ''}`);
      }
    }
  } catch (error) {
    await stopServices();
    throw error;
  }
  const env = { ...process.env, ...Object.assign({}, ...running.map((s) => s.env)), ...settings.env, PORT: String(port), HOST: '127.0.0.1', NODE_ENV: 'development', FERRY_ENV: 'dev' };
  const reloader = new Reloader({ command, cwd: projectDir, env, ignore: settings.watch_ignore, debounceMs: 200, stopGraceMs: 5000, onOutput: (line) => say(`app | ${line}`), onEvent: (message) => say(message) });
  reloader.start();
  say(`ferry dev: \`${command}\` on http://127.0.0.1:${port}/ (restarts when a file changes; Ctrl-C stops it${running.length ? ' and the services' : ''})`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  say('stopping');
  await reloader.stop();
  await stopServices();
  return 0;
}
