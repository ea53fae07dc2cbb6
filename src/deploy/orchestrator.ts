import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { EnvironmentConfig, FerryConfig } from '../config/schema.js';
import { CONFIG_FILE } from '../config/load.js';
import type { RouterClient } from '../router/client.js';
import type { InstanceSpec } from '../router/state.js';
import type { Runtimes } from '../runtime/registry.js';
import { buildImage } from '../runtime/docker/image-build.js';
import type { StatePaths } from '../state/paths.js';
import type { Store } from '../store/store.js';
import type { DeploymentKind, ReleaseRecord } from '../store/records.js';
import { describeProbe, probeHttp, type ProbeResult } from '../health/probe.js';
import { healthGate, watchWindow } from '../health/gate.js';
import { notify, type Delivery } from '../notify/notify.js';
import { FerryError, errorMessage } from '../util/errors.js';
import { writeJsonAtomic } from '../util/fs-atomic.js';
import { buildBaseEnv } from '../runtime/base-env.js';
import { acquireDeployLock } from './lock.js';
import { exitCodeOf, outcomeOfFailure, planSteps, type StepName } from './plan.js';
import { pruneEnvironment } from './prune.js';
import { redact, runBuild } from './build.js';
import { backupRelease, releaseLayout, writeSecretsFile } from './release-files.js';
import { exportSource, type SourceCommit } from './source.js';
import { servingOf, type Serving } from './serving.js';
import { gateInstances, instanceSpecs, ms, releaseLabels, upstreamTimeouts } from './instances.js';
import { imageRef, pushImage, registryAuth } from '../runtime/docker/image-push.js';
import { openMigrationDatabase, lockOwner } from '../migrate/open.js';
import { migrate, MigrateError } from '../migrate/runner.js';
import type { DeployEvent, DeployResult, DeployTimings } from './events.js';

export interface OrchestratorDeps {
  store: Store;
  router: RouterClient;
  runtimes: Runtimes;
  paths: StatePaths;
  projectDir: string;
  lockWaitTimeoutMs?: number;
  lockStaleAfterMs?: number;
  buildTimeoutMs?: number;
  notifyBackoffMs?: number;
}

export interface DeployRequest {
  env: string;
  kind: DeploymentKind;
  config: FerryConfig;
  /** For a deploy: the resolved commit to build. */
  source?: SourceCommit;
  /** For a rollback: the release to go back to. */
  target?: ReleaseRecord;
  /** Secret values from the deploying shell; written to .env only, never logged. */
  secrets: Record<string, string>;
  /** `ferry promote`: the release (of another environment) whose image this deploy reuses instead of building. */
  promoteFrom?: ReleaseRecord;
}

const LOG_LINES_ON_FAILURE = 20;

/** A failure that carries the facts to print: the instance, its last log lines, its health history. */
class StepFailure extends FerryError {
  constructor(message: string, readonly instance?: string, readonly probes: ProbeResult[] = [], hint?: string) {
    super({ code: 'STEP_FAILED', message, hint });
  }
}

/** Runs one deployment as persisted named steps; on failure, runs the compensations so the previous release serves. */
export class Deployment {
  private readonly timings: DeployTimings = { phases: {} };
  private readonly compensations: Array<{ step: StepName; undo: () => Promise<void> }> = [];
  private envConfig: EnvironmentConfig;
  private release?: ReleaseRecord;
  private previous!: Serving;
  private newSpecs: InstanceSpec[] = [];
  private trafficChanged = false;
  private previousServing = true;
  private currentStep: StepName = 'lock';
  private deploymentId = 0;
  private healthyAt = 0;
  private watchFailedAt?: number;

  constructor(private readonly deps: OrchestratorDeps, private readonly request: DeployRequest, private readonly emit: (event: DeployEvent) => void) {
    this.envConfig = request.kind === 'rollback' && request.target ? this.snapshotConfig(request.target) : request.config.environments[request.env];
    this.release = request.target;
  }

  /** The runtime this deployment's instances run on. */
  private get runtime() {
    return this.deps.runtimes.get(this.envConfig.runtime);
  }

  private snapshotConfig(release: ReleaseRecord): EnvironmentConfig {
    return JSON.parse(this.deps.store.releaseConfigJson(release.id)!) as EnvironmentConfig;
  }

  async run(): Promise<DeployResult> {
    const { store, router } = this.deps;
    const { env, kind } = this.request;
    this.previous = await servingOf(router, env);
    const deployment = store.createDeployment({ env, kind, previousReleaseId: this.previous.release });
    this.deploymentId = deployment.id;
    if (this.release) store.setDeploymentRelease(deployment.id, this.release.id);
    const plan = () =>
      planSteps(this.envConfig.strategy, kind, {
        hasBuild: Boolean(this.envConfig.build) || this.envConfig.runtime !== 'process',
        hasPrevious: this.previous.instanceIds.length > 0,
        hasMigrations: Boolean(this.envConfig.database),
      });
    let steps = plan();
    this.emit({ type: 'deployment', deploymentId: deployment.id, env, kind, steps });
    store.recordEvent(env, deployment.id, 'deploy_started', { kind, previous: this.previous.release });
    const startedAt = Date.now();
    let unlock: (() => void) | undefined;
    let outcome: DeployResult['outcome'] = 'succeeded';
    let failure: { step: StepName; message: string } | undefined;
    try {
      await this.step('lock', async () => {
        unlock = await acquireDeployLock(store, env, deployment.id, {
          waitTimeoutMs: this.deps.lockWaitTimeoutMs ?? 15 * 60_000,
          staleAfterMs: this.deps.lockStaleAfterMs ?? 30_000,
          heartbeatIntervalMs: 2000,
          onWait: (message) => this.progress(message),
        });
        // The serving release may have changed while this deployment waited; plan again from what serves now.
        this.previous = await servingOf(router, env);
        const replanned = plan();
        if (replanned.join() !== steps.join()) this.progress(`what serves changed while waiting; steps now: ${replanned.join(' → ')}`);
        steps = replanned;
        // Open the environment's port now, so that a port taken by another program stops the deploy before anything starts.
        const route = (await router.state()).routes[env];
        if (route?.port !== this.envConfig.port) await this.setRoute(this.previous.instanceIds, this.previous.release);
        return `acquired; :${this.envConfig.port} is ferry's`;
      });
      for (const name of steps.slice(1, -1)) await this.step(name, () => this.runStep(name));
    } catch (error) {
      failure = { step: this.currentStep, message: errorMessage(error) };
      await this.reportFailure(error);
      await this.compensate();
      outcome = outcomeOfFailure({ trafficChanged: this.trafficChanged, previousServing: this.previousServing });
      store.recordEvent(env, deployment.id, outcome, { step: failure.step });
    }
    const deliveries = await this.step('notify', () => this.sendNotification(outcome, failure, Date.now() - startedAt)).catch(() => []);
    unlock?.();
    const exitCode = exitCodeOf(outcome);
    store.finishDeployment(deployment.id, outcome, exitCode, failure ? `${failure.step}: ${failure.message}` : null);
    if (this.release && kind === 'deploy') store.setReleaseState(this.release.id, outcome === 'succeeded' ? 'ready' : 'failed');
    if (outcome === 'succeeded') store.recordEvent(env, deployment.id, 'succeeded', { release: this.release?.id, deliveries: deliveries.length });
    const serving = await servingOf(router, env).catch(() => undefined);
    const result: DeployResult = {
      deploymentId: deployment.id,
      env,
      kind,
      outcome,
      exitCode,
      release: this.release?.id ?? null,
      commit: this.release?.commit ?? null,
      previousRelease: this.previous.release,
      serving: serving?.release ?? null,
      failedStep: failure?.step,
      error: failure?.message,
      timings: this.timings,
    };
    this.emit({ type: 'result', result });
    return result;
  }

  private progress(message: string): void {
    this.emit({ type: 'progress', step: this.currentStep, message });
  }

  /** Persists the step as running before it runs, then its outcome. */
  private async step<T>(name: StepName, body: () => Promise<T>): Promise<T> {
    this.currentStep = name;
    const id = this.deps.store.startStep(this.deploymentId, name);
    this.emit({ type: 'step', step: name, state: 'running' });
    const startedAt = Date.now();
    try {
      const value = await body();
      const detail = typeof value === 'string' ? value : undefined;
      this.deps.store.finishStep(id, 'succeeded', detail);
      this.timings.phases[name] = Date.now() - startedAt;
      this.emit({ type: 'step', step: name, state: 'succeeded', ms: Date.now() - startedAt, detail });
      return value;
    } catch (error) {
      this.deps.store.finishStep(id, 'failed', errorMessage(error));
      this.emit({ type: 'step', step: name, state: 'failed', ms: Date.now() - startedAt, detail: errorMessage(error) });
      throw error;
    }
  }

  private runStep(name: StepName): Promise<string> {
    switch (name) {
      case 'secrets': return this.writeSecrets();
      case 'backup': return this.backup();
      case 'checkout': return this.checkout();
      case 'build': return this.build();
      case 'migrate': return this.migrate();
      case 'stop-old': return this.stopOld();
      case 'start': return this.startNew();
      case 'health-gate': return this.healthGate();
      case 'switch': return this.switchTraffic();
      case 'watch': return this.watch();
      case 'drain': return this.drainOld();
      case 'final-health': return this.finalHealth();
      case 'prune': return this.prune();
      default: throw new Error(`step ${name} has no body`);
    }
  }

  private declaredSecrets(): Record<string, string> {
    return Object.fromEntries(this.envConfig.secrets.filter((name) => this.request.secrets[name] !== undefined).map((name) => [name, this.request.secrets[name]]));
  }

  private async writeSecrets(): Promise<string> {
    const { store, paths } = this.deps;
    const { env, source, secrets, config } = this.request;
    this.release = store.createRelease({
      env,
      commit: source!.commit,
      ref: source!.ref,
      dir: (id) => paths.release(env, id),
      configJson: JSON.stringify(config.environments[env]),
    });
    store.setDeploymentRelease(this.deploymentId, this.release.id);
    // Ids come from the database; a directory of that id means the database lost track of it. Never write into it.
    if (existsSync(this.release.dir)) throw new FerryError({ code: 'INTERNAL', message: `release directory ${this.release.dir} already exists; refusing to reuse ${this.release.id}` });
    const values = Object.fromEntries(this.envConfig.secrets.map((name) => [name, secrets[name]]));
    writeSecretsFile(releaseLayout(this.release.dir).envFile, values);
    return `release ${this.release.id}: .env (0600) with ${this.envConfig.secrets.length ? this.envConfig.secrets.join(', ') : 'no secrets'}`;
  }

  private async backup(): Promise<string> {
    const { store, paths, router } = this.deps;
    const previous = this.previous.release ? store.release(this.previous.release) : undefined;
    if (!previous) return 'nothing is serving; nothing to back up';
    const snapshot = await router.state();
    const files = backupRelease(previous.dir, paths.backup(this.request.env, this.deploymentId), snapshot.routes[this.request.env] ?? null);
    return `${previous.id}: ${files.join(', ')} → backups/${this.request.env}/d${this.deploymentId}`;
  }

  private async checkout(): Promise<string> {
    const release = this.release!;
    const source = this.request.source!;
    const layout = releaseLayout(release.dir);
    if (source.dirty && source.fromGit) this.progress(`uncommitted changes in the project are not deployed; building commit ${source.commit.slice(0, 7)}`);
    if (!source.fromGit) this.progress('not a git repository: deploying the working tree as it is');
    await exportSource(this.deps.projectDir, source, layout.app, this.deps.paths.root);
    const configFile = join(this.deps.projectDir, CONFIG_FILE);
    if (existsSync(configFile)) copyFileSync(configFile, layout.config);
    writeJsonAtomic(layout.manifest, { id: release.id, env: release.env, commit: source.commit, ref: source.ref, createdAt: new Date(release.createdAt).toISOString() });
    return `${source.commit.slice(0, 12)} (${source.ref}) → ${layout.app}`;
  }

  private async build(): Promise<string> {
    const layout = releaseLayout(this.release!.dir);
    if (this.envConfig.runtime !== 'process') {
      const tag = imageRef(this.request.config.app, this.release!.id);
      const registry = this.envConfig.registry;
      const auth = registryAuth(registry, this.request.secrets);
      const from = this.request.promoteFrom;
      let image = `image ${tag}`;
      if (from) image = await this.reuseImage(from, tag);
      else {
        await buildImage(this.deps.runtimes.docker(), {
          contextDir: layout.app,
          dockerfile: this.envConfig.dockerfile,
          tag,
          buildArgs: this.envConfig.build_args,
          labels: releaseLabels(this.request.config.app, this.request.env, this.release!),
          timeoutMs: this.deps.buildTimeoutMs ?? 20 * 60_000,
          onLine: (line) => this.progress(redact(line, Object.values(this.request.secrets))),
        });
      }
      if (!registry) return image;
      // A promoted image is pushed under its new release too: the target's swarm nodes pull it by that name.
      const ref = imageRef(this.request.config.app, this.release!.id, registry);
      await pushImage(this.deps.runtimes.docker(), { localTag: tag, ref, auth, timeoutMs: this.deps.buildTimeoutMs ?? 20 * 60_000, onLine: (line) => this.progress(line) });
      return `${image}, pushed as ${ref}`;
    }
    await runBuild({
      command: this.envConfig.build!,
      cwd: layout.app,
      // The build sees this environment's declared secrets only (not the registry password or the database URL).
      env: { ...buildBaseEnv(), ...this.envConfig.env, ...this.declaredSecrets(), FERRY_RELEASE: this.release!.id, FERRY_ENV: this.request.env },
      timeoutMs: this.deps.buildTimeoutMs ?? 10 * 60_000,
      logFile: layout.buildLog,
      secrets: Object.values(this.request.secrets),
      onLine: (line) => this.progress(line),
    });
    return `built in ${layout.app}`;
  }

  /** Promote: the new release runs the very image the other environment's release runs (same id), tagged anew. */
  private async reuseImage(from: ReleaseRecord, tag: string): Promise<string> {
    const docker = this.deps.runtimes.docker();
    const source = imageRef(this.request.config.app, from.id);
    const image = await docker.getImage(source).inspect().catch(() => undefined);
    if (!image) throw new StepFailure(`the image of ${from.env}'s ${from.id} (${source}) is gone from the engine; cannot promote the same image`, undefined, [], `Deploy commit ${from.commit.slice(0, 12)} to ${this.request.env} with \`ferry deploy --ref\` instead (it rebuilds).`);
    const [repo, version] = [tag.slice(0, tag.lastIndexOf(':')), tag.slice(tag.lastIndexOf(':') + 1)];
    await docker.getImage(source).tag({ repo, tag: version });
    return `image ${tag} is ${from.env}'s ${source} (${image.Id.slice(0, 19)}), not rebuilt`;
  }

  /** Runs the release's pending migrations under the database's migration lock; never undone automatically. */
  private async migrate(): Promise<string> {
    const { config, env, secrets } = this.request;
    const database = this.envConfig.database!;
    const url = secrets[database.url_secret];
    if (!url) throw new StepFailure(`${database.url_secret} (the ${database.kind} URL of ${env}) is not set in the deploying shell`, undefined, [], `export ${database.url_secret}=... and deploy again.`);
    const db = openMigrationDatabase(database, url, config.migrations.changelog);
    try {
      const result = await migrate(db, {
        direction: 'up',
        dir: join(releaseLayout(this.release!.dir).app, config.migrations.dir),
        config: config.migrations,
        context: { env, release: this.release!.id, deployment: this.deploymentId, owner: lockOwner() },
        log: (line) => this.progress(redact(line, Object.values(secrets))),
      });
      this.deps.store.recordEvent(env, this.deploymentId, 'migrated', { database: result.database, applied: result.done.map((d) => d.name), findings: result.findings.length });
      return result.done.length ? `applied ${result.done.map((d) => d.name).join(', ')} to ${db.address}` : `${db.address} is up to date`;
    } catch (error) {
      const facts = error instanceof FerryError ? error.details.join('; ') : '';
      const result = error instanceof MigrateError ? error.result : undefined;
      this.deps.store.recordEvent(env, this.deploymentId, 'migration_failed', { applied: result?.done.map((d) => d.name) ?? [], failed: result?.failed ?? null, remaining: result?.remaining ?? [] });
      throw new StepFailure(`${redact(errorMessage(error), Object.values(secrets))}${facts ? ` (${facts})` : ''}`, undefined, [], error instanceof FerryError ? error.hint : undefined);
    } finally {
      await db.close();
    }
  }

  private async stopOld(): Promise<string> {
    this.trafficChanged = true;
    this.previousServing = false;
    this.compensations.push({ step: 'stop-old', undo: () => this.restorePrevious() });
    await this.stopInstances(this.previous.instanceIds);
    return `stopped ${this.previous.instanceIds.join(', ')}`;
  }

  private async startNew(): Promise<string> {
    this.newSpecs = await instanceSpecs({ app: this.request.config.app, env: this.request.env, release: this.release!, deploymentId: this.deploymentId, config: this.envConfig, paths: this.deps.paths });
    this.compensations.push({ step: 'start', undo: async () => void (await this.stopInstances(this.newSpecs.map((s) => s.id))) });
    const options = { registryAuth: registryAuth(this.envConfig.registry, this.request.secrets) };
    for (const spec of this.newSpecs) spec.host = (await this.runtime.start(spec, options)).host;
    return this.newSpecs.map((s) => `${s.id} on :${s.port}`).join(', ');
  }

  private async healthGate(): Promise<string> {
    const verdicts = await gateInstances(this.runtime, this.newSpecs, this.envConfig, (id, probe) => this.progress(`${id} ${describeProbe(probe)}`));
    const failed = verdicts.find((v) => !v.healthy);
    if (failed) throw new StepFailure(`${failed.instanceId} did not become healthy: ${failed.reason}`, failed.instanceId, failed.probes);
    for (const spec of this.newSpecs) await this.runtime.keepRunning?.(spec.id);
    this.healthyAt = Date.now();
    return verdicts.map((v) => `${v.instanceId}: ${v.reason} in ${v.elapsedMs}ms`).join('; ');
  }

  private async setRoute(instanceIds: string[], release: string | null): Promise<void> {
    await this.deps.router.setRoute({ env: this.request.env, port: this.envConfig.port, release: instanceIds.length ? release : null, upstreams: instanceIds, timeouts: upstreamTimeouts(this.envConfig) });
  }

  private async switchTraffic(): Promise<string> {
    this.trafficChanged = true;
    this.compensations.push({ step: 'switch', undo: () => this.switchBack() });
    await this.setRoute(this.newSpecs.map((s) => s.id), this.release!.id);
    this.timings.healthyToSwitchMs = Date.now() - this.healthyAt;
    this.deps.store.recordEvent(this.request.env, this.deploymentId, 'switched', { from: this.previous.release, to: this.release!.id });
    return `:${this.envConfig.port} → ${this.release!.id} (${this.timings.healthyToSwitchMs}ms after healthy)`;
  }

  private async watch(): Promise<string> {
    const health = this.envConfig.health;
    const verdict = await watchWindow({
      probe: () => probeHttp(this.envConfig.port, health.path, ms(health.timeout)),
      intervalMs: ms(health.interval),
      windowMs: ms(this.envConfig.watch),
      unhealthyThreshold: health.unhealthy_threshold,
      onProbe: (probe) => !probe.ok && this.progress(`through the router ${describeProbe(probe)}`),
    });
    if (!verdict.healthy) {
      this.watchFailedAt = verdict.firstFailureAt;
      throw new StepFailure(`${this.release!.id} turned unhealthy after the switch: ${verdict.reason}`, this.newSpecs[0]?.id, verdict.probes);
    }
    return `${verdict.probes.length} probes through :${this.envConfig.port}, all healthy for ${this.envConfig.watch}`;
  }

  private async drainOld(): Promise<string> {
    const results = await this.stopInstances(this.previous.instanceIds);
    this.previousServing = false;
    return results.join('; ');
  }

  private async finalHealth(): Promise<string> {
    const health = this.envConfig.health;
    const verdict = await healthGate({
      probe: () => probeHttp(this.envConfig.port, health.path, ms(health.timeout)),
      intervalMs: ms(health.interval),
      healthyThreshold: 1,
      deadlineMs: ms(health.deadline),
    });
    if (!verdict.healthy) throw new StepFailure(`final health check through :${this.envConfig.port} failed: ${verdict.reason}`, this.newSpecs[0]?.id, verdict.probes);
    return `healthy through :${this.envConfig.port}`;
  }

  private prune(): Promise<string> {
    const keep = new Set([this.release!.id, ...(this.previous.release ? [this.previous.release] : [])]);
    const app = this.request.config.app;
    const removeImage =
      this.envConfig.runtime !== 'process'
        ? async (id: string) => {
            for (const ref of new Set([imageRef(app, id), imageRef(app, id, this.envConfig.registry)])) {
              await this.deps.runtimes.docker().getImage(ref).remove().catch(() => undefined);
            }
          }
        : undefined;
    return pruneEnvironment(this.deps, this.request.env, this.envConfig.retain, keep, removeImage);
  }

  private async sendNotification(outcome: DeployResult['outcome'], failure: { step: StepName; message: string } | undefined, durationMs: number): Promise<Delivery[]> {
    const target = this.envConfig.notify;
    if (!target.webhook && !target.slack) return [];
    const deliveries = await notify(
      {
        app: this.request.config.app,
        env: this.request.env,
        outcome,
        kind: this.request.kind,
        deploymentId: this.deploymentId,
        release: this.release?.id ?? null,
        commit: this.release?.commit ?? null,
        previousRelease: this.previous.release,
        failedStep: failure?.step,
        error: failure?.message,
        durationMs,
        at: new Date().toISOString(),
      },
      {
        webhookUrl: target.webhook,
        webhookSecret: target.webhook_secret_env ? this.request.secrets[target.webhook_secret_env] : undefined,
        slackUrl: target.slack,
        firstBackoffMs: this.deps.notifyBackoffMs,
      },
    );
    for (const d of deliveries) if (!d.delivered) this.progress(`${d.target} notification not delivered after ${d.attempts} attempts: ${d.error}`);
    return deliveries;
  }

  private async stopInstances(ids: string[], drainTimeoutMs = ms(this.envConfig.drain)): Promise<string[]> {
    const graceMs = ms(this.envConfig.stop_grace);
    return Promise.all(
      ids.map(async (id) => {
        const result = await this.runtime.stop(id, { drainTimeoutMs, graceMs, onProgress: (message) => this.progress(message) });
        return `${id} drained in ${result.drainMs}ms, stopped in ${result.stopMs}ms${result.killed ? ' (SIGKILL after grace)' : ''}`;
      }),
    );
  }

  private async switchBack(): Promise<void> {
    const snapshot = await this.deps.router.state();
    const warm = this.previous.instanceIds.filter((id) => snapshot.instances[id]?.state === 'running');
    if (warm.length > 0) {
      await this.setRoute(warm, this.previous.release);
      this.previousServing = true;
      this.progress(`switched back to ${this.previous.release} (${warm.join(', ')})`);
    } else {
      await this.restorePrevious();
    }
    if (this.watchFailedAt && this.previousServing) this.timings.failureToRestoredMs = Date.now() - this.watchFailedAt;
  }

  /** Starts the previous release afresh from its directory (its own config and .env), gates it, routes to it. */
  private async restorePrevious(): Promise<void> {
    if (this.previousServing) return;
    const { store } = this.deps;
    const previous = this.previous.release ? store.release(this.previous.release) : undefined;
    if (!previous || !existsSync(previous.dir)) {
      await this.setRoute([], null);
      this.previousServing = false;
      this.progress(previous ? `cannot restore ${previous.id}: its directory is gone` : 'no previous release to restore');
      return;
    }
    const config = this.snapshotConfig(previous);
    const runtime = this.deps.runtimes.get(config.runtime);
    const specs = await instanceSpecs({ app: this.request.config.app, env: this.request.env, release: previous, deploymentId: this.deploymentId, config, paths: this.deps.paths });
    this.progress(`restoring ${previous.id}: ${specs.map((s) => s.id).join(', ')}`);
    const options = { registryAuth: registryAuth(config.registry, this.request.secrets) };
    for (const spec of specs) spec.host = (await runtime.start(spec, options)).host;
    const verdicts = await gateInstances(runtime, specs, config);
    if (verdicts.every((v) => v.healthy)) {
      for (const spec of specs) await runtime.keepRunning?.(spec.id);
      await this.setRoute(specs.map((s) => s.id), previous.id);
      this.previousServing = true;
      this.progress(`${previous.id} restored and serving`);
    } else {
      this.previousServing = false;
      this.progress(`${previous.id} did not become healthy again; nothing healthy is serving`);
    }
  }

  private async compensate(): Promise<void> {
    for (const { step, undo } of this.compensations.reverse()) {
      try {
        await undo();
      } catch (error) {
        this.previousServing = step === 'start' ? this.previousServing : false;
        this.progress(`compensation of ${step} failed: ${errorMessage(error)}`);
      }
    }
  }

  private async reportFailure(error: unknown): Promise<void> {
    const failure = error instanceof StepFailure ? error : undefined;
    const instance = failure?.instance;
    this.emit({
      type: 'failure',
      step: this.currentStep,
      message: errorMessage(error),
      hint: error instanceof FerryError ? error.hint : undefined,
      instance,
      logs: instance ? await this.tryLogs(instance) : [],
      probes: (failure?.probes ?? []).slice(-10).map(describeProbe),
    });
  }

  private async tryLogs(instance: string): Promise<string[]> {
    try {
      return await this.runtime.logs(instance, LOG_LINES_ON_FAILURE);
    } catch {
      return [];
    }
  }
}
