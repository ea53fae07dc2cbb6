import { describe, expect, it } from 'vitest';
import { networkDelta } from './host.js';

const dev = (rows: Record<string, [number, number]>) =>
  'Inter-|   Receive\n face |bytes    packets errs drop fifo frame compressed multicast|bytes\n' +
  Object.entries(rows).map(([name, [received, sent]]) => `${name}: ${received} 0 0 0 0 0 0 0 ${sent} 0 0 0 0 0 0 0`).join('\n');

describe('host network rate', () => {
  it('counts only interfaces present in both samples, so a veth that went away cannot make it negative', () => {
    const first = dev({ lo: [999, 999], eth0: [1000, 2000], veth1: [50_000, 60_000] });
    const second = dev({ lo: [5000, 5000], eth0: [1500, 2600], veth2: [10, 20] });
    expect(networkDelta(first, second)).toEqual({ received: 500, sent: 600 });
  });
});
