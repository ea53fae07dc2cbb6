import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { configReader, loadConfig } from '../config/load.js';
import type { EnvironmentConfig } from '../config/schema.js';
import { ensureRouter, routerProcessAlive } from '../router/client.js';
import { createRuntimes } from '../runtime/registry.js';
import { openDb } from '../store/db.js';
import { Store } from '../store/store.js';
import { reconcileInterrupted, type Reconciled } from '../deploy/reconcile.js';
import { writeJsonAtomic } from '../util/fs-atomic.js';
import { usageError } from '../util/errors.js';
import { isSameProcessAlive, processStartTime } from '../util/sleep.js';
import { Sessions } from './sessions.js';
import { statePaths } from '../state/paths.js';
import { stateLocation } from '../state/location.js';
import { privateDir, privateFiles } from '../shared/file-modes.js';
import { adoptMovedState } from '../state/relocate.js';
import { recoverFromStateFolder } from './recover.js';
import { restoreServing } from '../deploy/restore-serving.js';
import { watchDatabaseFile } from '../store/watch.js';
import { DeliveryStore } from '../store/delivery.js';
import { startUptimeProbes } from './uptime.js';
import { TrafficSampler } from './traffic-sampler.js';
import { TrafficStore } from '../store/traffic.js';
import { TlsManager } from '../tls/manager.js';
import { startCertificateChecks } from '../tls/checks.js';

import { createAgentServer } from './server.js';
import { loadTokens, rotateToken } from './tokens.js';

/** How often the agent checks each environment's certificate (renewals are due days ahead: an hour is plenty). */
const CERTIFICATE_CHECK_EVERY_MS = 3_600_000;
/** The router watch asks the control socket at every this many ticks (of 250 ms) even when the process lives. */
const ROUTER_PING_EVERY = 20;

export interface AgentInfo {
  pid: number;
  url: string;
  port: number;
  token: string;
  projectDir: string;
  routerPid: number;
}

export interface RunningAgent {
  info: AgentInfo;
  reconciled: Reconciled[];
  routerStarted: boolean;
  warnings: string[];
  /** Resolves when the agent has stopped (API shutdown or close()). */
  stopped: Promise<void>;
  close(options: { stopRouter: boolean }): Promise<void>;
}

/** The control plane: store, router connection (starting the router if needed), reconcile, API. */
export async function startAgent(options: { projectDir: string; port?: number; routerWatchIntervalMs?: number; databaseCheckIntervalMs?: number }): Promise<RunningAgent> {
  const projectDir = resolve(options.projectDir);
  const config = loadConfig(projectDir);
  const location = stateLocation(projectDir);
  const paths = statePaths(projectDir, location.dir);
  privateDir(paths.root);
  adoptMovedState(paths.root);
  const logger = pino({ base: { component: 'agent', pid: process.pid } }, pino.destination({ dest: paths.agentLog, sync: true, mkdir: true }));
  privateFiles(paths.agentLog);
  const store = new Store(openDb(paths.db));
  // One agent per state folder, decided before the router, agent.json or any instance is touched: two agents
  // would each restart the router and overwrite agent.json. The one that loses says who won and stops.
  const lock = store.tryAgentLock(processStartTime(process.pid), isSameProcessAlive);
  if (!lock.acquired) {
    store.db.close();
    throw usageError('AGENT_ALREADY_RUNNING', `another agent (pid ${lock.pid}) holds the state folder ${paths.root}`, 'ferry commands use that agent; `ferry agent stop` stops it.');
  }
  const { client: router, started: routerStarted, handover } = await ensureRouter(paths.root, { workers: config.router.workers });
  const runtimes = createRuntimes(router);
  const recovery = recoverFromStateFolder(store, paths, await router.state());
  const notes: string[] = [];
  if (handover?.to) logger.info(handover, 'the router of another ferry build handed its sockets over to this build');
  if (handover?.failed) notes.push(`the running router (pid ${handover.from}) is from another ferry build (${handover.previousBuild}) and could not hand over to this one: ${handover.failed}; it keeps serving. Run \`ferry agent stop\` then any ferry command to start this build's router.`);
  if (recovery.releases.length > 0) {
    notes.push(`ferry.db did not know ${recovery.releases.join(', ')}, whose directories are in ${join(paths.root, 'releases')}: they are known again from their manifests (the deployment history before them is gone); new ids continue from r${Number(recovery.releases[0].slice(1)) + 1}`);
    logger.warn(recovery, 'recovered releases the database did not know');
  }
  const reconciled = await reconcileInterrupted(store, router, runtimes);
  for (const r of reconciled) logger.warn(r, 'reconciled an interrupted deployment');
  // Containers of a routed release that are gone come back before the API answers, so no deployment races them.
  for (const line of await restoreServing({ store, router, runtimes, paths, projectDir }, config.app)) {
    notes.push(line);
    logger.warn({ line }, 'restored a serving release');
  }

  // The router is a separate process; if it dies, bring it back (it re-adopts instances from its table). Each
  // tick looks at the process its pid file names (a signal 0, no I/O to speak of); the control socket is asked
  // only when that process is gone, and every ROUTER_PING_EVERY ticks in case it lives but does not answer.
  // (Asking the socket at every tick cost an idle agent and its router about 1% of a core each.)
  let watching = true;
  let tick = 0;
  const watchRouter = async () => {
    while (watching) {
      await new Promise((r) => setTimeout(r, options.routerWatchIntervalMs ?? 250));
      if (!watching) break;
      tick += 1;
      if (routerProcessAlive(paths.root) && tick % ROUTER_PING_EVERY !== 0) continue;
      if (!(await router.isUp()) && watching) {
        try {
          const { started } = await ensureRouter(paths.root, { workers: config.router.workers });
          if (started) logger.warn('router was down; restarted it');
        } catch (error) {
          logger.error({ err: error }, 'router restart failed');
        }
      }
    }
  };
  const watcher = watchRouter();

  let tokens = loadTokens(paths.tokens);
  const sessions = new Sessions(paths.sessions);
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  let closing = false;
  // A deleted or replaced ferry.db: stop at once rather than write history nobody will read; the router keeps serving.
  const database = watchDatabaseFile(paths.db, {
    intervalMs: options.databaseCheckIntervalMs ?? 500,
    onReplaced: (why) => {
      logger.error({ why }, 'the state database is gone; the agent stops (the router keeps serving); the next ferry command starts an agent that recovers');
      void close({ stopRouter: false });
    },
  });
  const close = async ({ stopRouter }: { stopRouter: boolean }) => {
    if (closing) return stopped;
    closing = true;
    database.stop();
    watching = false;
    await watcher;
    stopProbes.abort();
    await Promise.all([probing, sampling, checking]);
    server.close();
    server.closeAllConnections();
    if (stopRouter) {
      // What the router counted since the last sample is stored before the router (and its counters) stop.
      await sampler.sample().catch(() => undefined);
      // Each runtime stops what it runs, leaving it routed (the next start brings it back); the router stops its processes.
      const snapshot = await router.state().catch(() => undefined);
      const live = Object.values(snapshot?.instances ?? {}).filter((i) => i.state !== 'exited');
      for (const name of ['docker', 'swarm'] as const) {
        const mine = live.filter((i) => i.runtime === name);
        if (mine.length) await runtimes.get(name).stopAll(mine, { graceMs: 10_000 }).catch(() => undefined);
      }
      await router.shutdown(true).catch(() => undefined);
    }
    rmSync(paths.agentInfo, { force: true });
    store.releaseAgentLock();
    store.db.close();
    logger.info({ stopRouter }, 'agent stopped');
    resolveStopped();
  };
  // Uptime and each release's traffic are measured: the agent probes the serving environments through the router,
  // and samples its counters (a bad ferry.yml keeps the last valid configuration).
  const stopProbes = new AbortController();
  let lastConfig = config;
  const readConfig = configReader(projectDir);
  const currentConfig = () => {
    try {
      lastConfig = readConfig();
    } catch {
      // keep the last valid configuration
    }
    return lastConfig;
  };
  const releaseConfig = (release: string) => {
    const json = store.releaseConfigJson(release);
    return json ? (JSON.parse(json) as EnvironmentConfig) : undefined;
  };
  const probing = startUptimeProbes({ router, delivery: new DeliveryStore(store.db), config: currentConfig, releaseConfig, onError: (error) => logger.error({ err: error }, 'an uptime probe round failed; the next one runs') }, stopProbes.signal);
  const sampler = new TrafficSampler({ router, traffic: new TrafficStore(store.db), config: currentConfig, baselineFile: join(paths.root, 'traffic-baseline.json') });
  const sampling = sampler.run(stopProbes.signal);
  const tls = new TlsManager({ router, paths, projectDir });
  const checking = startCertificateChecks({ tls, config: currentConfig, log: (fields, message) => logger.info(fields, message) }, CERTIFICATE_CHECK_EVERY_MS, stopProbes.signal);
  const server = createAgentServer({ store, router, runtimes, paths, location, notes, checkDatabase: database.check, allowedHosts: config.agent.allowed_hosts, projectDir, config: readConfig, tls,
    sessions,
    tokens: {
      current: () => tokens,
      rotate: (role) => {
        tokens = rotateToken(paths.tokens, role);
        sessions.closeRole(role);
        // The CLI reads the admin token from agent.json.
        if (role === 'admin') {
          info.token = tokens.admin;
          writeJsonAtomic(paths.agentInfo, info, 0o600);
        }
        return tokens;
      },
    },
    onShutdown: (stopRouter) => void close({ stopRouter }),
    sampleTraffic: () => sampler.sample(),
  });
  const port = options.port ?? config.agent.port;
  const listen = (wanted: number) =>
    new Promise<void>((resolvePromise, reject) => {
      server.once('error', reject);
      server.listen(wanted, '127.0.0.1', () => resolvePromise());
    });
  // The CLI finds the agent through agent.json, so a busy port (another project's agent) is not fatal.
  const portInUse = await listen(port).then(
    () => false,
    (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EADDRINUSE' || options.port !== undefined) {
        throw usageError('AGENT_PORT_UNAVAILABLE', `the agent cannot listen on 127.0.0.1:${port}: ${error.code}`, 'Pick another --port, or set agent.port in ferry.yml (0 picks a free port).');
      }
      return true;
    },
  );
  if (portInUse) await listen(0);
  const address = server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  const info: AgentInfo = { pid: process.pid, url: `http://127.0.0.1:${boundPort}`, port: boundPort, token: tokens.admin, projectDir, routerPid: (await router.state()).pid };
  writeJsonAtomic(paths.agentInfo, info, 0o600);
  logger.info({ url: info.url, routerStarted, portInUse }, 'agent ready');
  const warnings = [...(portInUse ? [`port ${port} is in use; the agent listens on ${info.url} instead`] : []), ...(location.note ? [location.note] : []), ...notes];
  return { info, reconciled, routerStarted, warnings, stopped, close };
}
