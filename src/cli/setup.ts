import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { environmentOf, loadConfig } from '../config/load.js';
import { shellWord } from '../remote/hosts.js';
import { hostFerry, hostsOf } from '../remote/tunnel.js';
import { FERRY_ROOT, FERRY_VERSION } from '../shared/build-info.js';
import { RouterClient, ROUTER_ENTRY } from '../router/client.js';
import { renderUnits, unitNames } from '../setup/units.js';
import { statePaths } from '../state/paths.js';
import { FerryError } from '../util/errors.js';
import { run } from '../util/run.js';
import { progress, type Io } from './output.js';

/**
 * `ferry setup --env E` of an environment on hosts: `ferry setup` runs on each host (over SSH, for the project
 * deployed there), with the same options; what each says is shown, prefixed with the host.
 */
export async function setupOnHosts(io: Io, projectDir: string, env: string, options: SetupOptions): Promise<number> {
  const config = loadConfig(projectDir);
  environmentOf(config, env);
  const say = progress(io);
  const flags = [options.scope ? `--${options.scope}` : '', options.enable ? '' : '--no-enable', options.unitDir ? `--unit-dir ${shellWord(options.unitDir)}` : ''].filter(Boolean).join(' ');
  let exitCode = 0;
  for (const host of hostsOf(config, env)) {
    const { connection, ferry, project } = await hostFerry(config, env, host);
    try {
      const result = await connection.exec(`${ferry} setup --project ${project} ${flags}`);
      for (const line of `${result.stdout}${result.stderr}`.trim().split('\n')) if (line) say(`${host.label}: ${line}`);
      if (result.code !== 0) exitCode = Math.max(exitCode, result.code ?? 3);
    } finally {
      connection.close();
    }
  }
  return exitCode;
}

export interface SetupOptions {
  scope?: 'system' | 'user';
  /** Write the units here instead of systemd's folder (packaging, review); nothing is enabled. */
  unitDir?: string;
  enable: boolean;
}

const hasProgram = async (name: string) => (await run('sh', ['-c', `command -v ${name}`], { timeoutMs: 5000 })).exitCode === 0;

/**
 * `ferry setup`: systemd units for the router and the agent, so that after a reboot the router starts the
 * serving release of each environment again, health-gates it and serves, before any deploy. Writes them,
 * checks them with `systemd-analyze verify`, then enables and starts them where systemd runs.
 */
export async function setup(io: Io, projectDir: string, options: SetupOptions): Promise<number> {
  const say = progress(io);
  const config = loadConfig(projectDir);
  const scope = options.scope ?? (process.getuid?.() === 0 ? 'system' : 'user');
  const unitDir = resolve(options.unitDir ?? (scope === 'system' ? '/etc/systemd/system' : join(process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'systemd/user')));
  const envs = Object.values(config.environments);
  const units = renderUnits({
    app: config.app,
    scope,
    user: userInfo().username,
    projectDir: resolve(projectDir),
    stateDir: statePaths(projectDir).root,
    node: process.execPath,
    ferryBin: join(FERRY_ROOT, 'bin/ferry.js'),
    routerEntry: ROUTER_ENTRY,
    workers: config.router.workers,
    docker: envs.some((env) => env.runtime !== 'process'),
    version: FERRY_VERSION,
  });
  mkdirSync(unitDir, { recursive: true });
  const paths = units.map((unit) => join(unitDir, unit.name));
  units.forEach((unit, i) => writeFileSync(paths[i], unit.text, { mode: 0o644 }));
  for (const path of paths) say(`wrote ${path}`);

  // Checked, or said plainly that it was not: never "ok" by default.
  let verified: { ok: boolean | null; output: string };
  if (await hasProgram('systemd-analyze')) {
    const result = await run('systemd-analyze', ['verify', ...paths], { timeoutMs: 60_000 });
    const output = `${result.stdout}${result.stderr}`.trim();
    // verify speaks of other units of the machine too; what concerns ferry's units fails setup.
    const ours = output.split('\n').filter((line) => units.some((unit) => line.includes(unit.name)));
    if (result.exitCode !== 0 || ours.length) throw new FerryError({ code: 'SETUP_UNIT_INVALID', message: `systemd-analyze verify refused the units ferry wrote:\n${output}`, hint: 'This is a bug in ferry: please report it with the units above.' });
    verified = { ok: true, output };
    say('checked: systemd-analyze verify found nothing wrong');
  } else {
    verified = { ok: null, output: 'systemd-analyze is not installed' };
    say('not checked: systemd-analyze is not installed (apt-get install systemd)');
  }

  const names = unitNames(config.app);
  const systemctl = scope === 'user' ? ['--user'] : [];
  let enabled: { done: boolean; reason: string };
  const routerRunning = await new RouterClient(statePaths(projectDir).root).isUp();
  if (!options.enable || options.unitDir) enabled = { done: false, reason: options.unitDir ? '--unit-dir: written for review or packaging only' : '--no-enable' };
  else if (!existsSync('/run/systemd/system')) enabled = { done: false, reason: 'systemd is not running on this machine (no /run/systemd/system)' };
  else {
    // A router started outside systemd holds the ports: the units are enabled for the next boot, and started only when it is gone.
    const now = routerRunning ? [] : ['--now'];
    for (const args of [[...systemctl, 'daemon-reload'], [...systemctl, 'enable', ...now, names.router, names.agent]]) {
      const result = await run('systemctl', args, { timeoutMs: 120_000 });
      if (result.exitCode !== 0) throw new FerryError({ code: 'SETUP_FAILED', message: `systemctl ${args.join(' ')} failed: ${(result.stderr || result.stdout).trim()}`, hint: scope === 'system' ? 'Run ferry setup as root (sudo) for system units, or --user.' : 'Is a user systemd running (systemctl --user status)?' });
    }
    enabled = { done: true, reason: routerRunning ? 'enabled for the next boot; a router started outside systemd serves now' : 'enabled and started' };
  }
  const start = `systemctl ${[...systemctl, 'enable', '--now', names.router, names.agent].join(' ')}`;
  if (io.json) {
    io.out(JSON.stringify({ scope, unitDir, units: paths, verified: verified.ok, verifyOutput: verified.output, enabled: enabled.done, reason: enabled.reason }));
    return 0;
  }
  say(enabled.done ? enabled.reason : `not enabled: ${enabled.reason}; to enable them: ${start}`);
  if (enabled.done && routerRunning) say(`to move serving under systemd now: stop the running router (\`ferry agent stop\` stops its instances too), then ${start}`);
  if (scope === 'user') say(`user units start at boot only with lingering on: loginctl enable-linger ${userInfo().username}`);
  return 0;
}
