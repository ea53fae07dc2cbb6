/** What `ferry setup` writes: one systemd unit for the router (data plane), one for the agent (control plane). */
export interface UnitFacts {
  app: string;
  /** `system`: /etc/systemd/system, run as `user`; `user`: the user's own systemd (needs lingering to start at boot). */
  scope: 'system' | 'user';
  user: string;
  projectDir: string;
  stateDir: string;
  node: string;
  /** ferry's CLI entry (bin/ferry.js) and the router's (dist/router/main.js). */
  ferryBin: string;
  routerEntry: string;
  /** Proxy workers (router.workers), when ferry.yml sets them. */
  workers?: number;
  /** Some environment runs on Docker: start after the engine. */
  docker: boolean;
  version: string;
}

export interface Unit {
  name: string;
  text: string;
}

/** Quotes one ExecStart word for systemd: `%` and `$` are its specifiers and variables, spaces split words. */
export function unitWord(word: string): string {
  const escaped = word.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  return /[\s"'\\;]/.test(escaped) ? `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : escaped;
}

/** `Environment=` expands specifiers (`%`) but not `$`; quotes keep spaces in. */
const assignment = (name: string, value: string) => {
  const escaped = `${name}=${value}`.replace(/%/g, '%%');
  return /[\s"'\\]/.test(escaped) ? `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : escaped;
};

export const unitNames = (app: string) => ({ router: `ferry-${app}-router.service`, agent: `ferry-${app}-agent.service` });

/** The standard system PATH, after the folder of the node ferry runs on (where npm and npx live too). */
const pathFor = (node: string) => [...new Set([node.slice(0, node.lastIndexOf('/')), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'])].join(':');

/**
 * The two units. The router restarts always: at boot it starts the serving release of each environment again
 * (process runtime), holds requests until it is healthy, and serves, with no deploy and no agent. Only its main
 * process is signalled on stop (KillMode=process), as `ferry agent stop` leaves instances to a restarted router:
 * it adopts them instead of starting them again. The agent starts after it and brings containers back.
 */
export function renderUnits(facts: UnitFacts): Unit[] {
  const names = unitNames(facts.app);
  const header = (what: string) => `# ${what} of ${facts.app}, written by \`ferry setup\` (ferry ${facts.version}).\n# Edit ferry.yml rather than this file, and run \`ferry setup\` again.\n`;
  const common = [
    ...(facts.scope === 'system' ? [`User=${facts.user}`] : []),
    `WorkingDirectory=${facts.projectDir.replace(/%/g, '%%')}`,
    `Environment=${assignment('FERRY_STATE_DIR', facts.stateDir)}`,
    `Environment=${assignment('PATH', pathFor(facts.node))}`,
  ];
  const after = ['network-online.target', ...(facts.docker ? ['docker.service'] : [])];
  const wantedBy = facts.scope === 'system' ? 'multi-user.target' : 'default.target';
  const router = [
    header('The router (data plane)'),
    '[Unit]',
    `Description=ferry router of ${facts.app}: serves every environment's release`,
    `After=${after.join(' ')}`,
    'Wants=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    ...common,
    `ExecStart=${[facts.node, '--max-semi-space-size=64', facts.routerEntry, facts.stateDir, ...(facts.workers !== undefined ? ['--workers', String(facts.workers)] : [])].map(unitWord).join(' ')}`,
    'Restart=always',
    'RestartSec=1',
    'KillMode=process',
    'TimeoutStopSec=30',
    'LimitNOFILE=65536',
    '',
    '[Install]',
    `WantedBy=${wantedBy}`,
    '',
  ];
  const agent = [
    header('The agent (control plane: API, dashboard, deploys)'),
    '[Unit]',
    `Description=ferry agent of ${facts.app}: API, dashboard and deploys`,
    `After=${[...after, names.router].join(' ')}`,
    `Wants=network-online.target ${names.router}`,
    '',
    '[Service]',
    'Type=simple',
    ...common,
    `ExecStart=${[facts.node, facts.ferryBin, 'agent', '--project', facts.projectDir].map(unitWord).join(' ')}`,
    'Restart=on-failure',
    'RestartSec=2',
    'KillMode=mixed',
    'TimeoutStopSec=30',
    '',
    '[Install]',
    `WantedBy=${wantedBy}`,
    '',
  ];
  return [
    { name: names.router, text: router.join('\n') },
    { name: names.agent, text: agent.join('\n') },
  ];
}

/** The words of a unit's ExecStart, unquoted: what systemd would run (tests start the router exactly so). */
export function execStartOf(text: string): string[] {
  const line = /^ExecStart=(.*)$/m.exec(text)?.[1];
  if (!line) throw new Error('the unit has no ExecStart');
  const words: string[] = [];
  for (const match of line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) words.push((match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : match[2]).replace(/\$\$/g, '$').replace(/%%/g, '%'));
  return words;
}
