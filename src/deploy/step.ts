import type { ProbeResult } from '../health/probe.js';
import { FerryError } from '../util/errors.js';
import type { DeployContext } from './context.js';
import type { StepName } from './plan.js';

/**
 * One step of the flow. `run` does it and says what it did; `undo`, where the step changes something the
 * previous release depends on, puts that back when a later step fails. Both are recorded in history.
 */
export interface Step {
  readonly name: StepName;
  run(ctx: DeployContext): Promise<string>;
  undo?(ctx: DeployContext): Promise<string>;
}

/** A failure that carries the facts to print: the instance, its last log lines, its health history. */
export class StepFailure extends FerryError {
  constructor(message: string, readonly instance?: string, readonly probes: ProbeResult[] = [], hint?: string) {
    super({ code: 'STEP_FAILED', message, hint });
  }
}
