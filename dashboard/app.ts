// The dashboard's page: it reads the same API as the CLI, signed in with a session cookie the agent sets
// (HttpOnly: this script never sees the token after sign-in). Everything drawn goes through textContent,
// never innerHTML, so nothing from the API is ever read as markup.

interface Instance { id: string; release: string; port: number; state: string; restarts: number; healthy: boolean | null; health: string }
interface EnvironmentStatus {
  env: string;
  url: string;
  strategy: string;
  serving: { id: string; commit: string; ref: string; branch: string | null; subject: string | null } | null;
  routed: { release: string | null; state: string };
  router: { upstreamTimeouts: number; upstreamErrors: number; unavailable: number };
  instances: Instance[];
  lastDeployment: { id: number; kind: string; release: string | null; state: string; outcome: string | null; startedAt: string; finishedAt: string | null; error: string | null } | null;
  lock: { deploymentId: number; since: string } | null;
}
interface StatusPayload { app: string; environments: EnvironmentStatus[] }
interface DeployEvent { type: string; step?: string; phase?: string; state?: string; ms?: number; detail?: string; message?: string; deploymentId?: number; kind?: string; steps?: string[]; result?: { outcome: string; release: string | null } }
interface PublishedDeployEvent { deploymentId: number | null; env: string; event: DeployEvent }

/** A deployment in progress (or just finished), as its events told it. */
interface LiveDeployment { id: number | null; kind: string; steps: Map<string, { state: string; ms?: number; detail?: string }>; messages: string[]; outcome?: string }

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const live = new Map<string, LiveDeployment>();
let lastStatus: StatusPayload | undefined;
let events: EventSource | undefined;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string | null, className?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  if (className) node.className = className;
  return node;
}

/** Requests that change something carry the header a cross-site page cannot send (the agent checks it, and the Origin). */
async function api(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.method && init.method !== 'GET') headers.set('x-ferry-csrf', '1');
  if (init.body) headers.set('content-type', 'application/json');
  return fetch(path, { ...init, headers, credentials: 'same-origin' });
}

function ago(iso: string): string {
  const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (seconds < 90) return `${Math.round(seconds)} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} days ago`;
}

function definitionList(rows: Array<[string, Node | string]>): HTMLDListElement {
  const list = el('dl');
  for (const [term, value] of rows) {
    list.append(el('dt', term));
    const dd = el('dd');
    dd.append(value);
    list.append(dd);
  }
  return list;
}

function stateText(text: string, good: boolean | null): HTMLSpanElement {
  return el('span', text, good === null ? 'nodata' : good ? 'ok' : 'bad');
}

function renderInstances(instances: Instance[]): HTMLElement {
  if (instances.length === 0) return el('p', 'no instances', 'nodata');
  // A table wider than a phone scrolls; keyboard users reach it too (it is focusable and named).
  const wrap = el('div', null, 'table-wrap');
  wrap.tabIndex = 0;
  wrap.setAttribute('role', 'region');
  wrap.setAttribute('aria-label', 'instances');
  const table = el('table');
  const head = el('tr');
  for (const title of ['instance', 'release', 'state', 'health', 'restarts']) {
    const th = el('th', title);
    th.scope = 'col';
    head.append(th);
  }
  table.createTHead().append(head);
  const body = table.createTBody();
  for (const instance of instances) {
    const row = el('tr');
    row.append(el('td', instance.id), el('td', instance.release), el('td', instance.state));
    const health = el('td');
    health.append(stateText(instance.healthy === null ? 'not checked' : instance.healthy ? `healthy (${instance.health})` : `unhealthy (${instance.health})`, instance.healthy));
    row.append(health, el('td', String(instance.restarts)));
    body.append(row);
  }
  wrap.append(table);
  return wrap;
}

function renderLive(deployment: LiveDeployment): HTMLElement {
  const box = el('section', null, 'live');
  box.setAttribute('aria-label', `deployment ${deployment.id ?? ''} progress`);
  box.append(el('h4', `${deployment.kind} #${deployment.id ?? '?'} ${deployment.outcome ? `: ${deployment.outcome}` : 'in progress'}`));
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

function renderEnvironment(status: EnvironmentStatus): HTMLElement {
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
  card.append(
    definitionList([
      ['serving', serving ? `${serving.id} · ${serving.commit.slice(0, 12)} · ${serving.ref}` : el('span', 'nothing', 'nodata')],
      ['change', serving?.subject ?? el('span', 'no commit subject', 'nodata')],
      ['address', link],
      ['strategy', status.strategy],
      ['router answered', `${counters.upstreamErrors} × 502, ${counters.upstreamTimeouts} × 504, ${counters.unavailable} × 503`],
      [
        'last deployment',
        status.lastDeployment
          ? `#${status.lastDeployment.id} ${status.lastDeployment.kind} ${status.lastDeployment.release ?? ''} ${status.lastDeployment.outcome ?? status.lastDeployment.state}, ${ago(status.lastDeployment.startedAt)}`
          : el('span', 'none yet', 'nodata'),
      ],
    ]),
  );
  card.append(renderInstances(status.instances));
  const deployment = live.get(status.env);
  if (deployment) card.append(renderLive(deployment));
  return card;
}

function render(): void {
  if (!lastStatus) return;
  $('app-name').textContent = lastStatus.app;
  document.title = `ferry · ${lastStatus.app}`;
  const list = $('environment-list');
  const cards = el('div', null, 'cards');
  for (const status of lastStatus.environments) cards.append(renderEnvironment(status));
  list.replaceChildren(cards);
}

function onDeployEvent({ deploymentId, env, event }: PublishedDeployEvent): void {
  let deployment = live.get(env);
  if (event.type === 'deployment' || !deployment || (deployment.outcome && deployment.id !== deploymentId)) {
    deployment = { id: deploymentId, kind: event.kind ?? 'deploy', steps: new Map(), messages: [] };
    for (const step of event.steps ?? []) deployment.steps.set(step, { state: 'pending' });
    live.set(env, deployment);
  }
  if (event.type === 'step' && event.step) deployment.steps.set(event.step, { state: event.phase === 'undo' ? `undo ${event.state}` : event.state ?? '', ms: event.ms, detail: event.detail });
  if ((event.type === 'progress' || event.type === 'failure') && event.message) deployment.messages.push(`${event.step ?? ''}: ${event.message}`);
  if (event.type === 'result' && event.result) deployment.outcome = event.result.outcome;
  render();
}

function connect(): void {
  events?.close();
  events = new EventSource('/api/events');
  const connection = $('connection');
  events.addEventListener('open', () => (connection.textContent = 'live'));
  events.addEventListener('error', () => (connection.textContent = 'reconnecting…'));
  events.addEventListener('status', (message) => {
    lastStatus = JSON.parse((message as MessageEvent<string>).data) as StatusPayload;
    render();
  });
  events.addEventListener('deploy', (message) => onDeployEvent(JSON.parse((message as MessageEvent<string>).data) as PublishedDeployEvent));
}

function show(signedIn: boolean): void {
  $('sign-in').hidden = signedIn;
  $('environments').hidden = !signedIn;
  $('sign-out').hidden = !signedIn;
  if (signedIn) connect();
  else {
    events?.close();
    $('connection').textContent = 'signed out';
    $<HTMLInputElement>('token').focus();
  }
}

async function start(): Promise<void> {
  const session = await api('/api/session');
  show(session.ok);
  $('sign-in-form').addEventListener('submit', async (submit) => {
    submit.preventDefault();
    const input = $<HTMLInputElement>('token');
    const response = await api('/api/session', { method: 'POST', body: JSON.stringify({ token: input.value.trim() }) });
    input.value = '';
    if (response.ok) return show(true);
    const body = (await response.json().catch(() => ({}))) as { error?: { message?: string } };
    $('sign-in-error').textContent = body.error?.message ?? `sign-in failed (${response.status})`;
  });
  $('sign-out').addEventListener('click', async () => {
    await api('/api/session', { method: 'DELETE' });
    show(false);
  });
}

void start();
