// Each environment at a glance: what serves, its instances and their health, the router's own answers,
// the last deployment, and a deployment in progress, step by step, as its events arrive.
import { ago, definitionList, el, stateText, table } from './dom.js';
import { confirmAction } from './actions.js';
import type { EnvironmentStatus, LiveTraffic, PublishedDeployEvent, Role, StatusPayload } from './types.js';

/** A deployment in progress (or just finished), as its events told it. */
interface LiveDeployment { id: number | null; kind: string; steps: Map<string, { state: string; ms?: number; detail?: string }>; messages: string[]; outcome?: string }

const live = new Map<string, LiveDeployment>();

export function applyDeployEvent({ deploymentId, env, event }: PublishedDeployEvent): void {
  let deployment = live.get(env);
  if (event.type === 'deployment' || !deployment || (deployment.outcome && deployment.id !== deploymentId)) {
    deployment = { id: deploymentId, kind: event.kind ?? 'deploy', steps: new Map(), messages: [] };
    for (const step of event.steps ?? []) deployment.steps.set(step, { state: 'pending' });
    live.set(env, deployment);
  }
  if (event.type === 'step' && event.step) deployment.steps.set(event.step, { state: event.phase === 'undo' ? `undo ${event.state}` : event.state ?? '', ms: event.ms, detail: event.detail });
  if ((event.type === 'progress' || event.type === 'failure') && event.message) deployment.messages.push(`${event.step ?? ''}: ${event.message}`);
  if (event.type === 'result' && event.result) deployment.outcome = event.result.outcome;
}

function renderLive(deployment: LiveDeployment): HTMLElement {
  const box = el('section', null, 'live');
  box.setAttribute('aria-label', `${deployment.kind} ${deployment.id ?? ''} progress`);
  box.append(el('h4', `${deployment.kind} #${deployment.id ?? '?'}: ${deployment.outcome ?? 'in progress'}`));
  const list = el('ol', null, 'steps');
  for (const [name, step] of deployment.steps) {
    const item = el('li');
    item.dataset.step = name;
    item.dataset.state = step.state;
    item.append(el('span', name), ' ', stateText(`${step.state}${step.ms !== undefined ? ` in ${step.ms} ms` : ''}`, step.state === 'pending' || step.state === 'running' ? null : step.state === 'succeeded'));
    if (step.detail) item.append(el('span', ` · ${step.detail}`, 'detail'));
    list.append(item);
  }
  box.append(list);
  if (deployment.messages.length) {
    const messages = el('ul', null, 'messages');
    for (const message of deployment.messages.slice(-8)) messages.append(el('li', message));
    box.append(messages);
  }
  return box;
}

/** The last interval's traffic through the router, or why there is none. */
function trafficText(traffic: LiveTraffic | undefined, counting: boolean, sampled: boolean): Node | string {
  if (!counting) return el('span', "no data: the router's request counting is off", 'nodata');
  if (!traffic) return el('span', sampled ? 'no data: no request since the router started' : 'no data yet: measuring', 'nodata');
  const errors = 'value' in traffic.errorRatio ? `${(traffic.errorRatio.value * 100).toFixed(2)} % errors` : 'no errors to count';
  const p99 = 'value' in traffic.p99Seconds ? `p99 ${(traffic.p99Seconds.value * 1000).toFixed(1)} ms` : 'no p99';
  const text = `${traffic.requestsPerSecond.toFixed(1)} req/s · ${errors} · ${p99} (last ${traffic.seconds.toFixed(0)} s)`;
  const bad = 'value' in traffic.errorRatio && traffic.errorRatio.value > 0.01;
  return bad ? stateText(text, false) : text;
}

function renderEnvironment(status: EnvironmentStatus, role: Role, others: string[], traffic: LiveTraffic | undefined, counting: boolean, sampled: boolean): HTMLElement {
  const card = el('article', null, 'card');
  card.dataset.env = status.env;
  card.setAttribute('aria-labelledby', `env-${status.env}`);
  const title = el('h3');
  title.id = `env-${status.env}`;
  title.append(`${status.env} `, stateText(status.routed.state, status.routed.state === 'serving' ? true : status.routed.state === 'none' ? null : false));
  card.append(title);
  const serving = status.serving;
  const link = el('a', status.url);
  link.href = status.url;
  link.rel = 'noreferrer';
  const counters = status.router;
  const last = status.lastDeployment;
  card.append(
    definitionList([
      ['serving', serving ? `${serving.id} · ${serving.commit.slice(0, 12)} · ${serving.ref}` : el('span', 'nothing', 'nodata')],
      ['change', serving?.subject ?? el('span', 'no commit subject', 'nodata')],
      ['by', serving?.author ?? el('span', 'unknown', 'nodata')],
      ['serving since', serving?.since ? ago(serving.since) : el('span', 'unknown', 'nodata')],
      ['traffic', trafficText(traffic, counting, sampled)],
      ['address', link],
      ['strategy', status.strategy],
      ['router answered', `${counters.upstreamErrors} × 502, ${counters.upstreamTimeouts} × 504, ${counters.unavailable} × 503`],
      ['last deployment', last ? `#${last.id} ${last.kind} ${last.release ?? ''} ${last.outcome ?? last.state}, ${ago(last.startedAt)}` : el('span', 'none yet', 'nodata')],
    ]),
  );
  for (const warning of status.warnings ?? []) card.append(el('p', `warning: ${warning}`, 'warn'));
  card.append(
    status.instances.length === 0
      ? el('p', 'no instances', 'nodata')
      : table(
          ['instance', 'release', 'state', 'health', 'restarts'],
          status.instances.map((i) => [i.id, i.release, i.state, stateText(i.healthy === null ? 'not checked' : i.healthy ? `healthy (${i.health})` : `unhealthy (${i.health})`, i.healthy), String(i.restarts)]),
          `${status.env} instances`,
        ),
  );
  if (role === 'admin') {
    const actions = el('p', null, 'buttons');
    const deploy = el('button', 'Deploy…', 'secondary');
    deploy.type = 'button';
    deploy.addEventListener('click', () => void confirmAction('deploy', status));
    const rollback = el('button', 'Roll back…', 'secondary');
    rollback.type = 'button';
    rollback.addEventListener('click', () => void confirmAction('rollback', status));
    actions.append(deploy, ' ', rollback);
    if (others.length > 0) {
      const promote = el('button', 'Promote…', 'secondary');
      promote.type = 'button';
      promote.addEventListener('click', () => void confirmAction('promote', status, others));
      actions.append(' ', promote);
    }
    card.append(actions);
  }
  const deployment = live.get(status.env);
  if (deployment) card.append(renderLive(deployment));
  return card;
}

export function renderEnvironments(target: HTMLElement, payload: StatusPayload, role: Role): void {
  const cards = el('div', null, 'cards');
  const environments = payload.environments;
  for (const status of environments) cards.append(renderEnvironment(status, role, environments.map((e) => e.env).filter((env) => env !== status.env), payload.traffic?.[status.env], payload.counting, Object.keys(payload.traffic ?? {}).length > 0));
  target.replaceChildren(cards);
}
