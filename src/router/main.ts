import { writeFileSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { privateDir, privateFiles } from '../shared/file-modes.js';
import { pino } from 'pino';
import { Router } from './router.js';
import { createControlServer, listenOnSocket } from './control.js';
import { routerPaths } from './paths.js';
import { controlReleased, handOver, receiveListeners, type HandoverMessage } from './handover.js';

/**
 * Entry point of the data-plane process: `node dist/router/main.js <state-dir> [--workers N] [--takeover]`.
 * With --takeover it was started by a running router (of another ferry build), which sends it the listening
 * sockets over IPC, then the control socket once this one serves.
 */
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
  const logger = pino({ base: { component: 'router', pid: process.pid } }, pino.destination({ dest: paths.log, sync: true, mkdir: true }));
  const takeover = process.argv.includes('--takeover') && process.send !== undefined;
  const router = new Router({ stateDir, workers, workerLogFile: `${paths.log}.stderr`, log: (message, fields) => logger.info(fields ?? {}, message) });
  if (takeover) for (const listener of await receiveListeners()) router.adoptListener(listener);
  // A takeover serves only once its workers do (the old router stops accepting then); a fresh start does not wait.
  await router.start({ waitForWorkers: takeover });
  if (takeover) {
    process.send!({ type: 'serving' } satisfies HandoverMessage);
    await controlReleased();
  }
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
  const handover = async (successor: { entry: string; execPath: string; workers?: number }) => {
    const pid = await handOver(
      {
        listeners: () => router.listenerHandles(),
        stopAccepting: () => router.stopAccepting(),
        // Stops listening at once; the connection of this very request stays open for its answer.
        releaseControl: () => void control.close(),
        log: (message, fields) => logger.info(fields ?? {}, message),
      },
      { ...successor, stateDir, workers: successor.workers ?? router.workerCount, logFile: `${paths.log}.stderr` },
    );
    stopping = true;
    // The successor serves: end this router's connections gracefully, then exit; the instances keep running.
    setImmediate(() => void router.retire(10_000).then(() => process.exit(0)));
    return pid;
  };
  const control = createControlServer(router, (stopInstances) => void shutdown(stopInstances), handover);
  await listenOnSocket(control, paths.socket);
  writeFileSync(paths.pid, String(process.pid), { mode: 0o600 });
  if (takeover) {
    process.send!({ type: 'control-bound', pid: process.pid } satisfies HandoverMessage);
    process.disconnect();
  }
  privateFiles(paths.log, `${paths.log}.stderr`, paths.socket);
  // A plain SIGTERM stops the router but leaves instances running, to be re-adopted.
  process.on('SIGTERM', () => void shutdown(false));
  process.on('SIGINT', () => void shutdown(false));
  logger.info({ routes: Object.keys(router.state.routes), workers: router.workerCount }, 'router ready');
}

main().catch((error) => {
  console.error(`ferry router failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(3);
});
