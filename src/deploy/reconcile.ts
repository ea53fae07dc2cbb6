import type { RouterClient } from '../router/client.js';
import type { Runtimes } from '../runtime/registry.js';
import type { Store } from '../store/store.js';
import { exitCodeOf } from './plan.js';

export interface Reconciled {
  deploymentId: number;
  env: string;
  interruptedAt: string | null;
  outcome: 'halted' | 'rolled_back' | 'succeeded' | 'failed';
}

/**
 * Ends deployments that a previous agent left running: the router's table decides.
 * Not switched yet → the new instances stop (halted). Switched with the old release still warm → switch back
 * (rolled_back). Switched with the old release gone → the new release stays (succeeded if it has instances running).
 */
export async function reconcileInterrupted(store: Store, router: RouterClient, runtimes: Runtimes, graceMs = 10_000): Promise<Reconciled[]> {
  const done: Reconciled[] = [];
  for (const deployment of store.runningDeployments()) {
    if (deployment.agentPid === process.pid) continue;
    const snapshot = await router.state();
    const route = snapshot.routes[deployment.env];
    const isNew = (id: string) => id.includes(`-d${deployment.id}-`);
    const newIds = Object.keys(snapshot.instances).filter((id) => isNew(id) && snapshot.instances[id].env === deployment.env);
    // The routing table names the release it routes to; tables from before it did are read from the instance ids.
    const routedToNew = route?.release != null && deployment.releaseId ? route.release === deployment.releaseId && (route.upstreams ?? []).some(isNew) : (route?.upstreams ?? []).some(isNew);
    const warmOld = Object.values(snapshot.instances)
      .filter((i) => i.env === deployment.env && !isNew(i.id) && i.state === 'running' && i.release === deployment.previousReleaseId)
      .map((i) => i.id);
    const servingNow = (route?.upstreams ?? []).filter((id) => snapshot.instances[id]?.state === 'running');
    let outcome: Reconciled['outcome'];
    if (!routedToNew) {
      // A recreate deploy may have stopped the old release already: then nothing serves and a person must act.
      outcome = servingNow.length > 0 || !deployment.previousReleaseId ? 'halted' : 'failed';
    } else if (warmOld.length > 0 && route) {
      await router.setRoute({ ...route, release: deployment.previousReleaseId, upstreams: warmOld });
      outcome = 'rolled_back';
    } else {
      const running = newIds.filter((id) => snapshot.instances[id].state === 'running');
      outcome = running.length > 0 ? 'succeeded' : 'failed';
    }
    if (outcome === 'halted' || outcome === 'rolled_back') {
      for (const id of newIds) await runtimes.of(snapshot.instances[id]).stop(id, { drainTimeoutMs: 5000, graceMs });
    } else if (outcome === 'succeeded') {
      const oldIds = Object.values(snapshot.instances).filter((i) => i.env === deployment.env && !isNew(i.id) && i.state === 'running' && !route!.upstreams.includes(i.id));
      for (const old of oldIds) await runtimes.of(old).stop(old.id, { drainTimeoutMs: 5000, graceMs });
    }
    const note = `interrupted at step ${deployment.currentStep ?? '?'}: the agent (pid ${deployment.agentPid}) stopped; reconciled by pid ${process.pid}`;
    store.interruptSteps(deployment.id, note);
    store.finishDeployment(deployment.id, outcome, exitCodeOf(outcome), note);
    store.releaseLock(deployment.env, deployment.id);
    store.recordEvent(deployment.env, deployment.id, 'reconciled', { outcome, interruptedAt: deployment.currentStep });
    done.push({ deploymentId: deployment.id, env: deployment.env, interruptedAt: deployment.currentStep, outcome });
  }
  for (const lock of store.locks()) {
    if (lock.ownerPid !== process.pid) store.releaseLock(lock.env, lock.deploymentId);
  }
  return done;
}
