import { createHmac } from 'node:crypto';
import { sleep } from '../util/sleep.js';
import { errorMessage } from '../util/errors.js';

export interface Notification {
  app: string;
  env: string;
  outcome: 'succeeded' | 'rolled_back' | 'halted' | 'failed';
  kind: 'deploy' | 'rollback';
  deploymentId: number;
  release: string | null;
  commit: string | null;
  previousRelease: string | null;
  failedStep?: string;
  error?: string;
  /** The metrics gate's last measurements (value, sample, threshold, verdict per check), when the environment has one. */
  analysis?: Array<{ check: string; value: number | null; samples: number | null; threshold: string; verdict: string; why?: string }>;
  durationMs: number;
  at: string;
}

export interface Delivery {
  target: 'webhook' | 'slack';
  delivered: boolean;
  attempts: number;
  status?: number;
  error?: string;
}

export interface NotifyOptions {
  webhookUrl?: string;
  webhookSecret?: string;
  slackUrl?: string;
  attempts?: number;
  firstBackoffMs?: number;
  requestTimeoutMs?: number;
}

export function signBody(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

const ICON = { succeeded: ':white_check_mark:', rolled_back: ':leftwards_arrow_with_hook:', halted: ':octagonal_sign:', failed: ':rotating_light:' };

export function slackMessage(n: Notification): { text: string } {
  const what = n.kind === 'rollback' ? 'rollback' : 'deploy';
  const head = `${ICON[n.outcome]} ${n.app} ${n.env}: ${what} of ${n.release ?? '?'}${n.commit ? ` (${n.commit.slice(0, 7)})` : ''} ${n.outcome.replace('_', ' ')}`;
  const tail = n.outcome === 'succeeded' ? '' : `\nfailed at step ${n.failedStep ?? '?'}: ${n.error ?? ''}${n.previousRelease ? `\n${n.previousRelease} is serving` : ''}`;
  const gate = n.analysis?.length ? `\nmetrics gate: ${n.analysis.map((m) => `${m.check} ${m.value === null ? 'no data' : Number(m.value.toPrecision(4))} (${m.threshold}) ${m.verdict}`).join(', ')}` : '';
  return { text: head + tail + gate };
}

async function post(url: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<number> {
  const response = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers }, signal: AbortSignal.timeout(timeoutMs) });
  await response.arrayBuffer();
  if (!response.ok) throw Object.assign(new Error(`HTTP ${response.status}`), { status: response.status });
  return response.status;
}

async function deliver(target: Delivery['target'], send: () => Promise<number>, attempts: number, backoffMs: number): Promise<Delivery> {
  let lastError = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      return { target, delivered: true, attempts: attempt, status: await send() };
    } catch (error) {
      lastError = errorMessage(error);
      if (attempt < attempts) await sleep(backoffMs * 2 ** (attempt - 1));
    }
  }
  return { target, delivered: false, attempts, error: lastError };
}

/** Sends to every configured target; never throws: an unreachable notifier must not fail a deploy. */
export async function notify(n: Notification, options: NotifyOptions): Promise<Delivery[]> {
  const attempts = options.attempts ?? 3;
  const backoffMs = options.firstBackoffMs ?? 500;
  const timeoutMs = options.requestTimeoutMs ?? 5000;
  const jobs: Array<Promise<Delivery>> = [];
  if (options.webhookUrl) {
    const body = JSON.stringify({ event: `deployment.${n.outcome}`, ...n });
    const headers: Record<string, string> = { 'user-agent': 'ferry', 'x-ferry-event': `deployment.${n.outcome}` };
    if (options.webhookSecret) headers['x-ferry-signature'] = signBody(body, options.webhookSecret);
    jobs.push(deliver('webhook', () => post(options.webhookUrl!, body, headers, timeoutMs), attempts, backoffMs));
  }
  if (options.slackUrl) {
    const body = JSON.stringify(slackMessage(n));
    jobs.push(deliver('slack', () => post(options.slackUrl!, body, {}, timeoutMs), attempts, backoffMs));
  }
  return Promise.all(jobs);
}
