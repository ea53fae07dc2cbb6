// The timeline of one environment: every deploy, rollback and halt, with its steps and their durations,
// what was undone, and for a failure the failing step's log lines and probes.
import { $, ago, duration, el, getJson, stateText } from './dom.js';
import type { Deployment } from './types.js';

const GOOD = new Set(['succeeded', 'compensated']);

interface PipelineRun { id: number; commit: string | null; outcome: string }

function renderDeployment(deployment: Deployment, runs: Map<string, PipelineRun>): HTMLElement {
  const item = el('li', null, 'event');
  item.dataset.deployment = String(deployment.id);
  item.dataset.outcome = deployment.outcome ?? deployment.state;
  const outcome = deployment.outcome ?? deployment.state;
  const title = el('h3');
  const kind = deployment.promotedFrom ? `promote of ${deployment.promotedFrom.env} ${deployment.promotedFrom.release} →` : deployment.kind;
  title.append(`#${deployment.id} ${kind} ${deployment.releaseId ?? ''} `, stateText(outcome, outcome === 'running' ? null : outcome === 'succeeded'));
  item.append(title);
  const facts = el('p', null, 'facts');
  const took = deployment.finishedAt ? duration(deployment.finishedAt - deployment.startedAt) : 'running';
  facts.append(`${ago(deployment.startedAt)} · ${took}`);
  if (deployment.release) facts.append(` · commit ${deployment.release.commit.slice(0, 12)}${deployment.release.branch ? ` on ${deployment.release.branch}` : ''}`);
  if (deployment.previousReleaseId) facts.append(` · previously ${deployment.previousReleaseId}`);
  item.append(facts);
  if (deployment.release) {
    // From a release to the pipeline run that checked its commit (the newest one).
    const run = runs.get(deployment.release.commit);
    const line = el('p', null, 'facts');
    if (run) {
      const link = el('a', `pipeline run #${run.id}`);
      link.href = '#pipelines';
      line.append(link, ' ', stateText(run.outcome, run.outcome === 'succeeded' ? true : run.outcome === 'failed' ? false : null));
    } else line.append(el('span', 'no pipeline run of this commit', 'nodata'));
    item.append(line);
  }
  if (deployment.release?.subject) item.append(el('p', deployment.release.subject, 'subject'));
  if (deployment.error) item.append(el('p', deployment.error, 'bad'));
  const steps = el('ol', null, 'steps');
  for (const step of deployment.steps ?? []) {
    const line = el('li');
    line.dataset.step = step.name;
    line.dataset.phase = step.phase;
    line.append(el('span', step.phase === 'undo' ? `undo ${step.name}` : step.name), ' ', stateText(`${step.state} ${duration(step.durationMs)}`, step.state === 'running' ? null : GOOD.has(step.state)));
    if (step.detail) line.append(el('span', ` · ${step.detail}`, 'detail'));
    steps.append(line);
  }
  item.append(steps);
  const failure = deployment.failure;
  if (failure && (failure.logs.length || failure.probes.length)) {
    const details = el('details');
    details.append(el('summary', `${failure.step}: ${failure.instance ? `${failure.instance}'s last log lines and ` : ''}probes`));
    if (failure.hint) details.append(el('p', failure.hint));
    if (failure.logs.length) details.append(el('pre', failure.logs.join('\n'), 'logs'));
    if (failure.probes.length) details.append(el('pre', failure.probes.join('\n'), 'logs'));
    item.append(details);
  }
  return item;
}

export async function renderTimeline(env: string): Promise<void> {
  const target = $('timeline-list');
  try {
    const [{ deployments }, pipelines] = await Promise.all([getJson<{ deployments: Deployment[] }>(`/api/deployments?env=${encodeURIComponent(env)}&limit=30`), getJson<{ runs: PipelineRun[] }>('/api/pipelines?limit=100')]);
    const runs = new Map<string, PipelineRun>();
    for (const run of pipelines.runs) if (run.commit && !runs.has(run.commit)) runs.set(run.commit, run);
    if (deployments.length === 0) return target.replaceChildren(el('p', `no deployment of ${env} yet`, 'nodata'));
    const list = el('ol', null, 'timeline');
    for (const deployment of deployments) list.append(renderDeployment(deployment, runs));
    target.replaceChildren(list);
  } catch (error) {
    target.replaceChildren(el('p', `the timeline could not be read: ${(error as Error).message}`, 'bad'));
  }
}
