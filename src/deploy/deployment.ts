import type { DeployEvent, DeployResult } from './events.js';
import type { DeployContext, DeployRequest, OrchestratorDeps } from './context.js';
import { exitCodeOf, outcomeOfFailure, planSteps } from './plan.js';
import { previousServes } from './restore-previous.js';
import { servingOf } from './serving.js';
import { runSteps } from './step-runner.js';
import { STEPS } from './steps/index.js';

export type { DeployRequest, OrchestratorDeps } from './context.js';

/**
 * One deployment: lock → release → secrets → backup → build → migrate → start → health-gate → switch →
 * watch → drain → final-health → prune, each persisted before it runs; on a failure the steps that ran are
 * undone, newest first; then notify. The outcome is read from the router, not remembered.
 */
export class Deployment {
  constructor(private readonly deps: OrchestratorDeps, private readonly request: DeployRequest, private readonly emit: (event: DeployEvent) => void) {}

  async run(): Promise<DeployResult> {
    const ctx = await this.begin();
    // Whatever happens from here (the router unreachable while the outcome is read, a notifier that throws),
    // the environment's lock is released: a lock held until the agent restarts blocks every later deploy.
    try {
      const failure = await runSteps(ctx, (name) => STEPS[name]);
      ctx.failure = failure && { step: failure.step, message: failure.message };
      const previousServing = failure ? await previousServes(ctx).catch(() => false) : false;
      ctx.outcome = failure ? outcomeOfFailure({ trafficChanged: ctx.trafficMoved, previousServing }) : 'succeeded';
      if (failure) this.deps.store.recordEvent(this.request.env, ctx.deploymentId, ctx.outcome, { step: failure.step, undone: failure.undone });
      ctx.plan = ['notify'];
      await runSteps(ctx, (name) => STEPS[name]);
      return await this.finish(ctx);
    } finally {
      ctx.unlock?.();
    }
  }

  /** Records the deployment and plans its steps from what serves now. */
  private async begin(): Promise<DeployContext> {
    const { store, router, runtimes } = this.deps;
    const { env, kind, target } = this.request;
    const config = kind === 'rollback' && target ? JSON.parse(store.releaseConfigJson(target.id)!) : this.request.config.environments[env];
    const previous = await servingOf(router, env);
    const deployment = store.createDeployment({ env, kind, previousReleaseId: previous.release });
    if (target) store.setDeploymentRelease(deployment.id, target.id);
    const promotedFrom = this.request.promoteFrom && { env: this.request.promoteFrom.env, release: this.request.promoteFrom.id };
    if (promotedFrom) store.setDeploymentPromotedFrom(deployment.id, promotedFrom);
    const ctx: DeployContext = {
      deps: this.deps,
      request: this.request,
      deploymentId: deployment.id,
      startedAt: deployment.startedAt,
      config,
      runtime: runtimes.get(config.runtime),
      previous,
      plan: [],
      replan: () =>
        planSteps(config.strategy, kind, {
          hasBuild: ctx.runtime.needsPrepare(config),
          hasPrevious: ctx.previous.instanceIds.length > 0,
          hasMigrations: Boolean(config.database),
          hasAnalysis: Boolean(config.analysis),
        }).slice(0, -1),
      trafficMoved: false,
      release: target,
      newSpecs: [],
      timings: { phases: {} },
      emit: this.emit,
      currentStep: 'lock',
      progress: (message) => this.emit({ type: 'progress', step: ctx.currentStep, message }),
      warn: (message) => {
        this.emit({ type: 'progress', step: ctx.currentStep, message: `warning: ${message}` });
        store.recordEvent(env, deployment.id, 'warning', { step: ctx.currentStep, message });
      },
    };
    ctx.plan = ctx.replan();
    this.emit({ type: 'deployment', deploymentId: deployment.id, env, kind, steps: [...ctx.plan, 'notify'] });
    store.recordEvent(env, deployment.id, 'deploy_started', { kind, previous: previous.release, ...(promotedFrom ? { promotedFrom } : {}) });
    return ctx;
  }

  private async finish(ctx: DeployContext): Promise<DeployResult> {
    const { store, router } = this.deps;
    const outcome = ctx.outcome!;
    const exitCode = exitCodeOf(outcome);
    store.finishDeployment(ctx.deploymentId, outcome, exitCode, ctx.failure ? `${ctx.failure.step}: ${ctx.failure.message}` : null);
    if (ctx.release && this.request.kind === 'deploy') store.setReleaseState(ctx.release.id, outcome === 'succeeded' ? 'ready' : 'failed');
    if (outcome === 'succeeded') store.recordEvent(this.request.env, ctx.deploymentId, 'succeeded', { release: ctx.release?.id });
    const serving = await servingOf(router, this.request.env).catch(() => undefined);
    const result: DeployResult = {
      deploymentId: ctx.deploymentId,
      env: this.request.env,
      kind: this.request.kind,
      outcome,
      exitCode,
      release: ctx.release?.id ?? null,
      commit: ctx.release?.commit ?? null,
      previousRelease: ctx.previous.release,
      serving: serving?.release ?? null,
      failedStep: ctx.failure?.step,
      error: ctx.failure?.message,
      timings: ctx.timings,
    };
    this.emit({ type: 'result', result });
    return result;
  }
}
