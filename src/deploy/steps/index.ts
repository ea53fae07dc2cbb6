import type { StepName } from '../plan.js';
import type { Step } from '../step.js';
import { analysis } from './analysis.js';
import { backup } from './backup.js';
import { build } from './build.js';
import { drain } from './drain.js';
import { finalHealth } from './final-health.js';
import { healthGate } from './health-gate.js';
import { lock } from './lock.js';
import { migrate } from './migrate.js';
import { notify } from './notify.js';
import { prune } from './prune.js';
import { release } from './release.js';
import { secrets } from './secrets.js';
import { start } from './start.js';
import { stopOld } from './stop-old.js';
import { switchTraffic } from './switch.js';
import { watch } from './watch.js';

/** Every step of the flow, by the name it has in plans, history and events. */
export const STEPS: Record<StepName, Step> = {
  lock,
  release,
  secrets,
  backup,
  build,
  migrate,
  'stop-old': stopOld,
  start,
  'health-gate': healthGate,
  switch: switchTraffic,
  watch,
  analysis,
  drain,
  'final-health': finalHealth,
  prune,
  notify,
};
