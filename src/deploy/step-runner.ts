import { describeProbe } from '../health/probe.js';
import { FerryError, errorMessage } from '../util/errors.js';
import { redact } from '../util/redact.js';
import type { DeployContext } from './context.js';
import type { StepName } from './plan.js';
import { StepFailure, type Step } from './step.js';

const LOG_LINES_ON_FAILURE = 20;

export interface StepsFailure {
  step: StepName;
  message: string;
  /** Steps whose undo ran, newest first, and how each ended. */
  undone: Array<{ step: StepName; ok: boolean; detail: string }>;
}

/** Runs one step: persisted as running before it starts, then its outcome, timing and detail. */
async function record(ctx: DeployContext, name: StepName, phase: 'run' | 'undo', body: () => Promise<string>): Promise<string> {
  const { store } = ctx.deps;
  const id = store.startStep(ctx.deploymentId, name, phase);
  ctx.currentStep = name;
  ctx.emit({ type: 'step', step: name, phase, state: 'running' });
  const startedAt = Date.now();
  try {
    const detail = await body();
    store.finishStep(id, phase === 'run' ? 'succeeded' : 'compensated', detail);
    if (phase === 'run') ctx.timings.phases[name] = Date.now() - startedAt;
    ctx.emit({ type: 'step', step: name, phase, state: phase === 'run' ? 'succeeded' : 'compensated', ms: Date.now() - startedAt, detail });
    return detail;
  } catch (error) {
    store.finishStep(id, 'failed', errorMessage(error));
    ctx.emit({ type: 'step', step: name, phase, state: 'failed', ms: Date.now() - startedAt, detail: errorMessage(error) });
    throw error;
  }
}

/**
 * Runs the planned steps in order (the plan may change while they run: see the lock step). On the first
 * failure it reports the facts, then undoes the steps that ran, newest first, each recorded in history.
 */
export async function runSteps(ctx: DeployContext, stepOf: (name: StepName) => Step): Promise<StepsFailure | undefined> {
  const done: Step[] = [];
  for (let index = 0; index < ctx.plan.length; index++) {
    const step = stepOf(ctx.plan[index]);
    try {
      await record(ctx, step.name, 'run', () => step.run(ctx));
      done.push(step);
    } catch (error) {
      // A step that failed half-way may have changed something too (a switch that reached the router): undo it as well.
      if (step.undo) done.push(step);
      await reportFailure(ctx, step.name, error);
      const undone: StepsFailure['undone'] = [];
      for (const ran of done.reverse()) {
        if (!ran.undo) continue;
        try {
          undone.push({ step: ran.name, ok: true, detail: await record(ctx, ran.name, 'undo', () => ran.undo!(ctx)) });
        } catch (undoError) {
          undone.push({ step: ran.name, ok: false, detail: errorMessage(undoError) });
          ctx.progress(`undo of ${ran.name} failed: ${errorMessage(undoError)}`);
        }
      }
      return { step: step.name, message: errorMessage(error), undone };
    }
  }
  return undefined;
}

async function reportFailure(ctx: DeployContext, step: StepName, error: unknown): Promise<void> {
  const failure = error instanceof StepFailure ? error : undefined;
  const instance = failure?.instance;
  // What the instance printed may hold a secret it was given: each value is masked before it leaves.
  const secrets = Object.values(ctx.request.secrets);
  const logs = instance ? (await ctx.runtime.logs(instance, LOG_LINES_ON_FAILURE).catch(() => [])).map((line) => redact(line.text, secrets)) : [];
  const event = {
    type: 'failure' as const,
    step,
    message: redact(errorMessage(error), secrets),
    hint: error instanceof FerryError ? error.hint : undefined,
    instance,
    logs,
    probes: (failure?.probes ?? []).slice(-10).map(describeProbe),
  };
  ctx.emit(event);
  // Kept with the deployment: the dashboard's timeline shows the failing step's log lines and probes.
  const { type, ...data } = event;
  ctx.deps.store.recordEvent(ctx.request.env, ctx.deploymentId, type, data);
}
