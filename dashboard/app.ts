// The dashboard's page: it reads the same API as the CLI, signed in with a session cookie the agent sets
// (HttpOnly: this script never sees the token after sign-in), and follows the agent's server-sent events.
import { $, api, el } from './dom.js';
import { applyDeployEvent, renderEnvironments } from './environments.js';
import { renderTimeline } from './timeline.js';
import { renderDelivery } from './delivery.js';
import { renderPipelines } from './pipelines.js';
import { renderTraffic } from './traffic.js';
import type { PublishedDeployEvent, Role, StatusPayload } from './types.js';

const VIEWS = ['environments', 'timeline', 'delivery', 'pipelines'] as const;
type View = (typeof VIEWS)[number];

let role: Role = 'read';
let lastStatus: StatusPayload | undefined;
let events: EventSource | undefined;

const currentView = (): View => (VIEWS as readonly string[]).includes(location.hash.slice(1)) ? (location.hash.slice(1) as View) : 'environments';

function render(): void {
  if (!lastStatus) return;
  $('app-name').textContent = lastStatus.app;
  document.title = `ferry · ${lastStatus.app}`;
  const view = currentView();
  if (view === 'environments') renderEnvironments($('environment-list'), lastStatus, role);
  for (const id of ['timeline-env', 'delivery-env']) {
    const select = $<HTMLSelectElement>(id);
    if (select.options.length > 0) continue;
    for (const { env } of lastStatus.environments) {
      const option = el('option', env);
      option.value = env;
      select.append(option);
    }
  }
}

let trafficTimer: number | undefined;

/** The traffic charts, read again each time the agent has taken a new sample, while the delivery view is open. */
async function refreshTraffic(): Promise<void> {
  clearTimeout(trafficTimer);
  const next = await renderTraffic($<HTMLSelectElement>('delivery-env').value, $<HTMLSelectElement>('traffic-range').value);
  if (currentView() === 'delivery' && events) trafficTimer = window.setTimeout(() => void refreshTraffic(), Math.max(2, next ?? 15) * 1000);
}

const refreshDelivery = () => {
  void renderDelivery($<HTMLSelectElement>('delivery-env').value, $<HTMLSelectElement>('delivery-period').value);
  void refreshTraffic();
};

function showView(): void {
  const view = currentView();
  for (const each of VIEWS) {
    $(each).hidden = each !== view;
    const link = document.querySelector(`nav a[href="#${each}"]`);
    if (each === view) link?.setAttribute('aria-current', 'page');
    else link?.removeAttribute('aria-current');
  }
  render();
  if (view === 'timeline' && $<HTMLSelectElement>('timeline-env').value) void renderTimeline($<HTMLSelectElement>('timeline-env').value);
  if (view === 'delivery' && $<HTMLSelectElement>('delivery-env').value) refreshDelivery();
  if (view === 'pipelines') void renderPipelines();
}

function connect(): void {
  events?.close();
  events = new EventSource('/api/events');
  const connection = $('connection');
  events.addEventListener('open', () => (connection.textContent = 'live'));
  events.addEventListener('error', () => (connection.textContent = 'reconnecting…'));
  events.addEventListener('status', (message) => {
    const first = !lastStatus;
    lastStatus = JSON.parse((message as MessageEvent<string>).data) as StatusPayload;
    if (first) showView();
    else render();
  });
  events.addEventListener('deploy', (message) => {
    const published = JSON.parse((message as MessageEvent<string>).data) as PublishedDeployEvent;
    applyDeployEvent(published);
    render();
    if (published.event.type !== 'result') return;
    // A finished deployment changes the timeline and the keys: what is on screen is read again.
    if (currentView() === 'timeline' && $<HTMLSelectElement>('timeline-env').value === published.env) void renderTimeline(published.env);
    if (currentView() === 'delivery' && $<HTMLSelectElement>('delivery-env').value === published.env) refreshDelivery();
  });
}

function show(signedIn: boolean, as?: Role): void {
  role = as ?? 'read';
  $('sign-in').hidden = signedIn;
  $('signed-in').hidden = !signedIn;
  $('sign-out').hidden = !signedIn;
  $('role').textContent = signedIn ? (role === 'admin' ? 'admin' : 'read-only') : '';
  if (signedIn) connect();
  else {
    events?.close();
    events = undefined;
    clearTimeout(trafficTimer);
    lastStatus = undefined;
    $('connection').textContent = 'signed out';
    $<HTMLInputElement>('token').focus();
  }
}

async function start(): Promise<void> {
  const session = await api('/api/session');
  show(session.ok, session.ok ? ((await session.json()) as { role: Role }).role : undefined);
  window.addEventListener('hashchange', showView);
  $('timeline-env').addEventListener('change', () => void renderTimeline($<HTMLSelectElement>('timeline-env').value));
  $('delivery-env').addEventListener('change', refreshDelivery);
  $('delivery-period').addEventListener('change', refreshDelivery);
  $('traffic-range').addEventListener('change', () => void refreshTraffic());
  $('sign-in-form').addEventListener('submit', async (submit) => {
    submit.preventDefault();
    const input = $<HTMLInputElement>('token');
    const response = await api('/api/session', { method: 'POST', body: JSON.stringify({ token: input.value.trim() }) });
    input.value = '';
    const body = (await response.json().catch(() => ({}))) as { role?: Role; error?: { message?: string } };
    if (response.ok) {
      $('sign-in-error').textContent = '';
      return show(true, body.role);
    }
    $('sign-in-error').textContent = body.error?.message ?? `sign-in failed (${response.status})`;
  });
  $('sign-out').addEventListener('click', async () => {
    await api('/api/session', { method: 'DELETE' });
    show(false);
  });
}

void start();
