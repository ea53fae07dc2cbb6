import { writeFileSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { privateDir, privateFiles } from '../state/modes.js';
import { adoptMovedState } from '../state/relocate.js';
import { pino } from 'pino';
import { Router } from './router.js';
import { createControlServer, listenOnSocket } from './control.js';
import { routerPaths } from './paths.js';

/** Entry point of the data-plane process: `node dist/router/main.js <state-dir> [--workers N]`. */
async function main(): Promise<void> {
  const stateDir = process.argv[2];
  const workersAt = process.argv.indexOf('--workers');
  const workers = workersAt > 0 ? Number(process.argv[workersAt + 1]) : availableParallelism();
  if (!stateDir || !Number.isInteger(workers) || workers < 0) {
    console.error('usage: node dist/router/main.js <state-dir> [--workers N]');
    process.exit(2);
  }
  const paths = routerPaths(stateDir);
  privateDir(stateDir);
  privateDir(paths.dir);
  adoptMovedState(stateDir);
  const logger = pino({ base: { component: 'router', pid: process.pid } }, pino.destination({ dest: paths.log, sync: true, mkdir: true }));
  const router = new Router({ stateDir, workers, workerLogFile: `${paths.log}.stderr`, log: (message, fields) => logger.info(fields ?? {}, message) });
  await router.start();
  let stopping = false;
  const shutdown = async (stopInstances: boolean) => {
    if (stopping) return;
    stopping = true;
    logger.info({ stopInstances }, 'shutting down');
    control.close();
    await router.close({ stopInstances });
    rmSync(paths.pid, { force: true });
    process.exit(0);
  };
  const control = createControlServer(router, (stopInstances) => void shutdown(stopInstances));
  await listenOnSocket(control, paths.socket);
  writeFileSync(paths.pid, String(process.pid), { mode: 0o600 });
  privateFiles(paths.log, `${paths.log}.stderr`, paths.socket);
  // A plain SIGTERM stops the router but leaves instances running, to be re-adopted.
  process.on('SIGTERM', () => void shutdown(false));
  process.on('SIGINT', () => void shutdown(false));
  logger.info({ routes: Object.keys(router.state.routes), workers: router.workerPids() }, 'router ready');
}

main().catch((error) => {
  console.error(`ferry router failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(3);
});
