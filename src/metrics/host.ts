import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import type { Measured } from './dora.js';

/** The host's CPU, memory, disk I/O and network over a short sample, from /proc (Linux). */
export interface HostSnapshot {
  cpuBusyRatio: Measured<number>;
  memory: Measured<number> & { usedBytes?: number; totalBytes?: number };
  diskBytesPerSecond: Measured<number> & { read?: number; written?: number };
  networkBytesPerSecond: Measured<number> & { received?: number; sent?: number };
  sampleMs: number;
}

const read = (path: string) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

function cpuTicks(stat: string): { busy: number; total: number } {
  const fields = stat.split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = fields[3] + (fields[4] ?? 0);
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** Sectors read and written by whole disks (not partitions, not loop or ram devices); a sector is 512 bytes. */
function diskSectors(diskstats: string): { read: number; written: number } {
  let readSectors = 0;
  let written = 0;
  for (const line of diskstats.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || /^(loop|ram|dm-)/.test(f[2]) || /^(sd[a-z]+|vd[a-z]+|xvd[a-z]+|hd[a-z]+)\d+$|^nvme\d+n\d+p\d+$|^mmcblk\d+p\d+$/.test(f[2])) continue;
    readSectors += Number(f[5]);
    written += Number(f[9]);
  }
  return { read: readSectors * 512, written: written * 512 };
}

/** Bytes received and sent, per interface but loopback. */
function networkBytes(dev: string): Map<string, { received: number; sent: number }> {
  const interfaces = new Map<string, { received: number; sent: number }>();
  for (const line of dev.split('\n').slice(2)) {
    const [name, rest] = line.split(':');
    if (!rest || name.trim() === 'lo') continue;
    const f = rest.trim().split(/\s+/).map(Number);
    interfaces.set(name.trim(), { received: f[0], sent: f[8] });
  }
  return interfaces;
}

/**
 * Bytes moved between two samples, over the interfaces present in both: an interface that came or went
 * meanwhile (a container's veth) would otherwise make the rate jump, or go below zero.
 */
export function networkDelta(first: string, second: string): { received: number; sent: number } {
  const before = networkBytes(first);
  let received = 0;
  let sent = 0;
  for (const [name, after] of networkBytes(second)) {
    const was = before.get(name);
    if (!was) continue;
    received += Math.max(0, after.received - was.received);
    sent += Math.max(0, after.sent - was.sent);
  }
  return { received, sent };
}

function memory(meminfo: string): { usedBytes: number; totalBytes: number } {
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(meminfo)?.[1] ?? NaN) * 1024;
  const total = kb('MemTotal');
  return { totalBytes: total, usedBytes: total - kb('MemAvailable') };
}

export async function sampleHost(sampleMs = 1000): Promise<HostSnapshot> {
  const first = { stat: read('/proc/stat'), disk: read('/proc/diskstats'), net: read('/proc/net/dev') };
  await delay(sampleMs);
  const second = { stat: read('/proc/stat'), disk: read('/proc/diskstats'), net: read('/proc/net/dev'), mem: read('/proc/meminfo') };
  const seconds = sampleMs / 1000;
  const noProc = { noData: 'no /proc on this system (ferry reads host figures on Linux only)' };
  let cpuBusyRatio: HostSnapshot['cpuBusyRatio'] = noProc;
  if (first.stat && second.stat) {
    const [a, b] = [cpuTicks(first.stat), cpuTicks(second.stat)];
    cpuBusyRatio = b.total > a.total ? { value: (b.busy - a.busy) / (b.total - a.total) } : { noData: 'the CPU counters did not move during the sample' };
  }
  const mem = second.mem ? memory(second.mem) : undefined;
  const disk = first.disk && second.disk ? [diskSectors(first.disk), diskSectors(second.disk)] : undefined;
  const net = first.net && second.net ? networkDelta(first.net, second.net) : undefined;
  return {
    cpuBusyRatio,
    memory: mem && Number.isFinite(mem.usedBytes) ? { value: mem.usedBytes / mem.totalBytes, ...mem } : noProc,
    diskBytesPerSecond: disk
      ? { value: (disk[1].read - disk[0].read + disk[1].written - disk[0].written) / seconds, read: (disk[1].read - disk[0].read) / seconds, written: (disk[1].written - disk[0].written) / seconds }
      : noProc,
    networkBytesPerSecond: net
      ? { value: (net.received + net.sent) / seconds, received: net.received / seconds, sent: net.sent / seconds }
      : noProc,
    sampleMs,
  };
}
