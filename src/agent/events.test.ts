import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { EventBus, StatusFeed } from './events.js';

describe('StatusFeed', () => {
  it('reads the status once per tick however many watch, sends it only when it changes, and stops reading when nobody watches', async () => {
    let reads = 0;
    let value = 'a';
    const bus = new EventBus();
    const feed = new StatusFeed(async () => (reads++, { value }), 50, bus);
    const seen: Array<[string, unknown]> = [];
    const stops = await Promise.all([1, 2, 3].map((n) => feed.watch((m) => seen.push([`w${n}`, m.data]))));
    expect(seen.filter(([, data]) => (data as { value: string }).value === 'a')).toHaveLength(3);
    await delay(180);
    // Three watchers over three ticks: about three readings (not nine), and nothing sent while nothing changed.
    expect(reads).toBeGreaterThanOrEqual(3);
    expect(reads).toBeLessThanOrEqual(5);
    expect(seen).toHaveLength(3);
    value = 'b';
    // A deployment's result is read at once, not at the next tick.
    bus.emit('deploy', { deploymentId: 1, env: 'web', event: { type: 'result', outcome: 'succeeded' } as never });
    await delay(5);
    expect(seen.filter(([, data]) => (data as { value: string }).value === 'b')).toHaveLength(3);
    for (const stop of stops) stop();
    const after = reads;
    await delay(150);
    expect(reads).toBe(after);
  });

  it('sends a failed reading as a problem', async () => {
    const feed = new StatusFeed(async () => Promise.reject(new Error('the router did not answer')), 1000, new EventBus());
    const messages: unknown[] = [];
    const stop = await feed.watch((m) => messages.push(m));
    stop();
    expect(messages).toEqual([{ event: 'problem', data: { message: 'the router did not answer' } }]);
  });
});
