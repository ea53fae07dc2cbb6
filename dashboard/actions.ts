// Deploy a ref, roll back and promote, from the page: each asks for confirmation in a dialog, then streams the
// deployment's progress there (the agent answers NDJSON, as it does the CLI). Admin sessions only; the
// agent checks that too, and that the request comes from this page.
import { api, el, getJson } from './dom.js';
import type { DeployEvent, Deployment, EnvironmentStatus } from './types.js';

type Action = 'deploy' | 'rollback' | 'promote';

const TITLES: Record<Action, (env: string) => string> = { deploy: (env) => `Deploy to ${env}`, rollback: (env) => `Roll back ${env}`, promote: (env) => `Promote to ${env}` };

async function rollbackTargets(status: EnvironmentStatus): Promise<string[]> {
  const { deployments } = await getJson<{ deployments: Deployment[] }>(`/api/deployments?env=${encodeURIComponent(status.env)}&limit=50`);
  const targets: string[] = [];
  for (const deployment of deployments) {
    const id = deployment.releaseId;
    if (id && deployment.outcome === 'succeeded' && id !== status.serving?.id && !targets.includes(id)) targets.push(id);
  }
  return targets;
}

function describe(event: DeployEvent): string | undefined {
  if (event.type === 'step') return `${event.phase === 'undo' ? 'undo ' : ''}${event.step}: ${event.state}${event.ms !== undefined ? ` in ${event.ms} ms` : ''}${event.detail ? ` · ${event.detail}` : ''}`;
  if (event.type === 'progress' || event.type === 'failure') return `${event.step}: ${event.message}`;
  if (event.type === 'note') return event.message;
  if (event.type === 'result' && event.result) return `result: ${event.result.outcome}${event.result.release ? ` (${event.result.release})` : ''}${event.result.error ? ` · ${event.result.error}` : ''}`;
  return undefined;
}

/** Streams a deployment's NDJSON events into the dialog's log; returns the outcome. */
async function run(path: string, body: unknown, log: HTMLElement): Promise<string> {
  const response = await api(path, { method: 'POST', body: JSON.stringify(body) });
  if (!response.ok || !response.body) {
    const answer = (await response.json().catch(() => ({}))) as { error?: { message?: string; hint?: string } };
    throw new Error(`${answer.error?.message ?? `the agent answered ${response.status}`}${answer.error?.hint ? ` (${answer.error.hint})` : ''}`);
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  let outcome = 'unknown: the stream ended without a result';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += value;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines.filter(Boolean)) {
      const event = JSON.parse(line) as DeployEvent;
      const text = describe(event);
      if (text) log.append(el('li', text));
      if (event.type === 'result' && event.result) outcome = event.result.outcome;
    }
  }
  return outcome;
}

/** Opens the confirmation dialog for an action on an environment. */
export async function confirmAction(action: Action, status: EnvironmentStatus, others: string[] = []): Promise<void> {
  const dialog = el('dialog', null, 'action');
  dialog.setAttribute('aria-labelledby', 'action-title');
  const title = el('h2', TITLES[action](status.env));
  title.id = 'action-title';
  const form = el('form');
  form.method = 'dialog';
  const field = el('p');
  const label = el('label', action === 'deploy' ? 'Git ref (branch, tag or commit)' : action === 'rollback' ? 'Release to go back to' : 'Environment to promote from');
  label.htmlFor = 'action-input';
  let input: HTMLInputElement | HTMLSelectElement;
  if (action === 'deploy') {
    input = el('input');
    input.value = 'HEAD';
    input.required = true;
  } else if (action === 'promote') {
    input = el('select');
    for (const env of others) {
      const option = el('option', env);
      option.value = env;
      input.append(option);
    }
  } else {
    input = el('select');
    const targets = await rollbackTargets(status);
    if (targets.length === 0) input.append(el('option', 'no earlier good release'));
    for (const target of targets) {
      const option = el('option', target);
      option.value = target;
      input.append(option);
    }
    input.disabled = targets.length === 0;
  }
  input.id = 'action-input';
  field.append(label, ' ', input);
  const explain = el(
    'p',
    action === 'deploy'
      ? `Builds a release of that commit and deploys it to ${status.env} with its health gate, watch window and automatic rollback. ${status.serving ? `${status.serving.id} serves now; the secrets ${status.env} declares keep its values (the agent reads them; this page never does).` : ''}`
      : action === 'rollback'
        ? `Switches ${status.env} back to that release with its own config and secrets snapshot${status.serving ? `, away from ${status.serving.id}` : ''}.`
        : `Deploys to ${status.env} exactly the commit that environment serves, after smoke checks on it (its last deployment succeeded, its instances are healthy, three probes pass). The secrets ${status.env} declares keep the values of its serving release.`,
  );
  const log = el('ol', null, 'action-log');
  log.setAttribute('role', 'log');
  log.setAttribute('aria-label', 'progress');
  const result = el('p', null, 'action-result');
  result.setAttribute('role', 'status');
  const cancel = el('button', 'Cancel', 'secondary');
  cancel.type = 'button';
  cancel.addEventListener('click', () => dialog.close());
  const confirm = el('button', TITLES[action](status.env));
  confirm.type = 'submit';
  confirm.disabled = input.disabled;
  const buttons = el('p', null, 'buttons');
  buttons.append(cancel, ' ', confirm);
  form.append(field, explain, buttons);
  dialog.append(title, form, log, result);
  dialog.addEventListener('close', () => dialog.remove());
  form.addEventListener('submit', async (submit) => {
    submit.preventDefault();
    confirm.disabled = true;
    input.disabled = true;
    cancel.textContent = 'Close';
    result.textContent = 'running…';
    try {
      const outcome =
        action === 'deploy'
          ? await run('/api/deployments', { env: status.env, ref: input.value.trim(), secretsFrom: 'serving' }, log)
          : action === 'rollback'
            ? await run('/api/rollbacks', { env: status.env, to: input.value }, log)
            : await run('/api/promotions', { from: input.value, to: status.env, secretsFrom: 'serving' }, log);
      result.textContent = `${action}: ${outcome}`;
      result.className = `action-result ${outcome === 'succeeded' ? 'ok' : 'bad'}`;
    } catch (error) {
      result.textContent = (error as Error).message;
      result.className = 'action-result bad';
    }
  });
  document.body.append(dialog);
  dialog.showModal();
}
