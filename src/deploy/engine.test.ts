import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.js';
import { statePaths } from '../state/paths.js';
import { openDb } from '../store/db.js';
import { Store } from '../store/store.js';
import { freePort } from '../util/ports.js';
import { fakeWorld, type FakeWorld } from '../../test/support/fake-engine.js';
import { Deployment } from './deployment.js';
import type { DeployEvent, DeployResult } from './events.js';
import type { DeploymentKind, ReleaseRecord } from '../store/records.js';
import { reconcileInterrupted } from './reconcile.js';

/**
 * The deploy engine on its own: the real steps, plan, lock and store (SQLite in a temp folder), against a fake
 * runtime and router (test/support/fake-engine.ts). What these show, the end-to-end tests need not show again
 * for every runtime: the order of the flow, what halts and what rolls back, the lock, and the outcome read back.
 */
let dir: string;
let world: FakeWorld;
let store: Store;
let port: number;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-engine-'));
  writeFileSync(join(dir, 'server.js'), '// the app: the fake runtime answers for it\n');
  writeFileSync(join(dir, 'ferry.yml'), '# the working tree\'s config (the request carries it parsed)\n', { mode: 0o644 });
  world = fakeWorld();
  store = new Store(openDb(join(dir, 'state', 'ferry.db')));
  port = await freePort();
});

afterEach(async () => {
  await world.close();
  store.db.close();
  rmSync(dir, { recursive: true, force: true });
});

function config(environment: Record<string, unknown> = {}) {
  return configSchema.parse({
    app: 'engine',
    environments: {
      production: {
        port,
        start: 'node server.js',
        health: { interval: '20ms', timeout: '500ms', healthy_threshold: 2, unhealthy_threshold: 1, deadline: '3s' },
        watch: '300ms',
        drain: '1s',
        stop_grace: '1s',
        ...environment,
      },
    },
  });
}

let commits = 0;

async function deploy(options: { kind?: DeploymentKind; target?: ReleaseRecord; environment?: Record<string, unknown>; onEvent?: (event: DeployEvent) => void; lockWaitTimeoutMs?: number } = {}): Promise<{ result: DeployResult; events: DeployEvent[] }> {
  const events: DeployEvent[] = [];
  const commit = `${String(++commits).padStart(2, '0')}`.padEnd(40, 'a');
  const deployment = new Deployment(
    { store, router: world.router, runtimes: world.runtimes, paths: statePaths(dir, join(dir, 'state')), projectDir: dir, lockWaitTimeoutMs: options.lockWaitTimeoutMs },
    {
      env: 'production',
      kind: options.kind ?? 'deploy',
      config: config(options.environment),
      source: options.kind === 'rollback' ? undefined : { commit, ref: 'HEAD', fromGit: false, dirty: false },
      target: options.target,
      secrets: {},
    },
    (event) => {
      events.push(event);
      options.onEvent?.(event);
    },
  );
  return { result: await deployment.run(), events };
}

const stepsRun = (events: DeployEvent[]) => events.flatMap((event) => (event.type === 'step' && event.phase === 'run' && event.state !== 'running' ? [`${event.step}:${event.state}`] : []));
const stepsUndone = (events: DeployEvent[]) => events.flatMap((event) => (event.type === 'step' && event.phase === 'undo' && event.state !== 'running' ? [event.step] : []));

async function get(): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}/health`);
  return { status: response.status, body: await response.text() };
}

describe('the deploy engine (fake runtime and router)', () => {
  it('a first deploy starts, gates, routes, watches and releases the lock; the second starts beside it, switches, then drains the first', async () => {
    const first = await deploy();
    expect(first.result).toMatchObject({ outcome: 'succeeded', exitCode: 0, release: 'r1', serving: 'r1', previousRelease: null });
    expect(stepsRun(first.events)).toEqual(['lock', 'release', 'secrets', 'backup', 'start', 'health-gate', 'switch', 'watch', 'final-health', 'prune', 'notify'].map((step) => `${step}:succeeded`));
    expect(await get()).toEqual({ status: 200, body: 'r1' });
    // Outside git, the working tree is the release; the state folder inside the project is not copied into it.
    const app = join(dir, 'state', 'releases', 'production', 'r1', 'app');
    expect(readdirSync(app).sort()).toEqual(['ferry.yml', 'server.js']);
    // The state's folders are 0700 and the config snapshot 0600, whatever the umask and the project's modes.
    const mode = (...path: string[]) => (statSync(join(dir, 'state', ...path)).mode & 0o777).toString(8);
    expect([mode('releases'), mode('releases', 'production'), mode('releases', 'production', 'r1'), mode('releases', 'production', 'r1', 'app'), mode('releases', 'production', 'r1', 'ferry.yml')]).toEqual(['700', '700', '700', '700', '600']);

    world.calls.length = 0;
    const second = await deploy();
    expect(second.result).toMatchObject({ outcome: 'succeeded', release: 'r2', serving: 'r2', previousRelease: 'r1' });
    expect(stepsRun(second.events)).toContain('drain:succeeded');
    // Blue-green: the new instance is up and routed before the old one stops; the route moves in one change.
    expect(world.calls).toEqual(['start production-r2-d2-1', 'route production r2 [production-r2-d2-1]', 'stop production-r1-d1-1']);
    expect(await get()).toEqual({ status: 200, body: 'r2' });
    expect(store.lockOf('production')).toBeUndefined();
    expect(store.deployments({ env: 'production' }).map((d) => [d.id, d.outcome, d.releaseId])).toEqual([
      [2, 'succeeded', 'r2'],
      [1, 'succeeded', 'r1'],
    ]);
  });

  it('a release that answers 500 halts before traffic moves: its instance is stopped, the old release serves throughout, exit 1', async () => {
    await deploy();
    world.behaviour.set('r2', { status: 500 });
    const health = { interval: '20ms', deadline: '500ms' };
    const answers: number[] = [];
    const state = { done: false };
    const loop = (async () => {
      for (let i = 0; i < 1000 && !state.done; i++) answers.push((await get()).status);
    })();

    const { result, events } = await deploy({ environment: { health } });
    state.done = true;
    await loop;
    expect(result).toMatchObject({ outcome: 'halted', exitCode: 1, failedStep: 'health-gate', serving: 'r1' });
    expect(result.error).toMatch(/production-r2-d2-1 did not become healthy/);
    expect(stepsUndone(events)).toEqual(['start']);
    expect(world.instances.get('production-r2-d2-1')?.state).toBe('exited');
    expect(world.routes.production?.release).toBe('r1');
    expect(answers.length).toBeGreaterThan(0);
    expect(answers.filter((status) => status !== 200)).toEqual([]);
    const failure = events.find((event) => event.type === 'failure');
    expect(failure).toMatchObject({ step: 'health-gate', instance: 'production-r2-d2-1', logs: ['log of production-r2-d2-1'] });
    expect(store.lockOf('production')).toBeUndefined();
  });

  it('an instance that exits at start halts at once, not after the health deadline', async () => {
    world.behaviour.set('r1', 'exits');
    const started = Date.now();
    const { result } = await deploy({ environment: { health: { interval: '20ms', deadline: '20s' } } });
    expect(result).toMatchObject({ outcome: 'halted', exitCode: 1, failedStep: 'health-gate', serving: null });
    expect(result.error).toMatch(/instance exited with code 1 before it became healthy/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('a release that turns bad after the switch is switched back within the watch window: the old instances take the traffic again, rolled back (exit 1)', async () => {
    await deploy();
    const { result, events } = await deploy({
      onEvent: (event) => {
        if (event.type === 'step' && event.step === 'switch' && event.state === 'succeeded') world.behaviour.set('r2', { status: 503 });
      },
    });
    expect(result).toMatchObject({ outcome: 'rolled_back', exitCode: 1, failedStep: 'watch', serving: 'r1' });
    expect(stepsUndone(events)).toEqual(['switch', 'start']);
    expect(world.routes.production).toMatchObject({ release: 'r1', upstreams: ['production-r1-d1-1'] });
    expect(world.instances.get('production-r1-d1-1')?.state).toBe('running');
    expect(await get()).toEqual({ status: 200, body: 'r1' });
  });

  it('recreate stops the old release before it starts the new one', async () => {
    await deploy({ environment: { strategy: 'recreate' } });
    world.calls.length = 0;
    const { result, events } = await deploy({ environment: { strategy: 'recreate' } });
    expect(result).toMatchObject({ outcome: 'succeeded', serving: 'r2' });
    expect(stepsRun(events).slice(0, 6)).toEqual(['lock:succeeded', 'release:succeeded', 'secrets:succeeded', 'backup:succeeded', 'stop-old:succeeded', 'start:succeeded']);
    expect(world.calls.indexOf('stop production-r1-d1-1')).toBeLessThan(world.calls.indexOf('start production-r2-d2-1'));
  });

  it('two deployments of one environment run one at a time: the second waits for the lock, then plans from what the first left', async () => {
    await deploy();
    const [a, b] = await Promise.all([deploy(), deploy()]);
    const [earlier, later] = a.result.deploymentId < b.result.deploymentId ? [a, b] : [b, a];
    expect(earlier.result).toMatchObject({ outcome: 'succeeded', previousRelease: 'r1' });
    expect(later.result).toMatchObject({ outcome: 'succeeded' });
    // The later one recorded r1 as serving when it began, but drained what the earlier one left serving.
    const drained = later.events.find((event) => event.type === 'step' && event.step === 'drain' && event.state === 'succeeded');
    expect(drained && 'detail' in drained ? drained.detail : '').toContain(`production-${earlier.result.release}-`);
    expect(later.events.some((event) => event.type === 'progress' && /waiting|held by/i.test(event.message))).toBe(true);
    expect([...world.instances.values()].filter((i) => i.state === 'running').map((i) => i.spec.release)).toEqual([later.result.release]);
  });

  it('a rollback starts the earlier release from its own snapshot and serves it', async () => {
    await deploy({ environment: { replicas: 2 } });
    await deploy();
    const r1 = store.releasesOf('production').find((release) => release.id === 'r1')!;
    world.calls.length = 0;
    const { result, events } = await deploy({ kind: 'rollback', target: r1 });
    expect(result).toMatchObject({ outcome: 'succeeded', kind: 'rollback', release: 'r1', serving: 'r1', previousRelease: 'r2' });
    expect(stepsRun(events)[0]).toBe('lock:succeeded');
    expect(stepsRun(events)).not.toContain('release:succeeded');
    // r1's snapshot had two replicas, though the working tree's config now says one.
    expect(world.calls.filter((call) => call.startsWith('start'))).toEqual(['start production-r1-d3-1', 'start production-r1-d3-2']);
  });

  it('reconcile ends what a dead agent left mid-deploy: routed to the new release with the old one warm, it routes back and stops the new instances (rolled_back)', async () => {
    await deploy();
    // What an agent killed just after the switch leaves: r2 routed, r1 still running, the deployment and its lock open.
    const deployment = store.createDeployment({ env: 'production', kind: 'deploy', previousReleaseId: 'r1' });
    const r2 = store.createRelease({ env: 'production', commit: 'b'.repeat(40), ref: 'HEAD', dir: (id) => join(dir, 'state', id), configJson: '{}' });
    store.setDeploymentRelease(deployment.id, r2.id);
    store.tryLock('production', deployment.id, 30_000, () => true);
    const id = `production-r2-d${deployment.id}-1`;
    await world.runtime.start({ id, env: 'production', release: 'r2', port: await freePort(), cwd: dir, command: '', vars: {}, logFile: '/dev/null' }, undefined as never);
    await world.router.setRoute({ env: 'production', port, release: 'r2', upstreams: [id] });
    store.db.prepare('UPDATE deployments SET agent_pid = ? WHERE id = ?').run(2 ** 22 + 1, deployment.id);
    expect(await get()).toEqual({ status: 200, body: 'r2' });

    const [reconciled] = await reconcileInterrupted(store, world.router, world.runtimes);
    expect(reconciled).toMatchObject({ deploymentId: deployment.id, outcome: 'rolled_back' });
    expect(world.routes.production).toMatchObject({ release: 'r1', upstreams: ['production-r1-d1-1'] });
    expect(world.instances.get(id)?.state).toBe('exited');
    expect(await get()).toEqual({ status: 200, body: 'r1' });
    expect(store.deployment(deployment.id)).toMatchObject({ outcome: 'rolled_back', exitCode: 1 });
    expect(store.lockOf('production')).toBeUndefined();
  });
});
