import http from 'node:http';

export interface Sample {
  at: number;
  ms: number;
  status: number | null;
  error?: string;
}

export interface LoadSummary {
  requests: number;
  non2xx: number;
  socketErrors: number;
  errors: string[];
  p50Ms: number;
  p99Ms: number;
}

/**
 * Traffic for a test of a deploy flow (a runtime, SSH hosts, a failed migration, a killed agent): 10 keep-alive
 * connections, each sending a request every 20 ms, at most 500 a second. Requests are in flight through every
 * step, and the CPU is left to what is tested: back to back, 4 connections already sent about 2,000 a second, and
 * the traffic was two thirds of the swarm file's 94 CPU-s alone, with three files running at once on 2 cores. The
 * router's own tests (handover, workers, recovery, router.test) and the process runtime's five deploys under load
 * still send back to back: there the stress is the point.
 */
export const STEADY_TRAFFIC = { connections: 10, pacingMs: 20 } as const;

/** Keep-alive HTTP load: `connections` clients, each sending its next request when the last one answered. */
export class KeepAliveLoad {
  readonly samples: Sample[] = [];
  private running = false;
  private readonly agent: http.Agent;
  private loops: Promise<void>[] = [];

  constructor(private readonly options: { port: number; path?: string; connections: number; requestTimeoutMs?: number; /** Least time between two requests of one connection; 0 sends back to back. */ pacingMs?: number; /** false: a new connection for every request. */ keepAlive?: boolean }) {
    this.agent = new http.Agent({ keepAlive: options.keepAlive ?? true, maxSockets: options.connections });
  }

  private once(): Promise<Sample> {
    const at = Date.now();
    const started = process.hrtime.bigint();
    const elapsed = () => Number(process.hrtime.bigint() - started) / 1e6;
    return new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.1', port: this.options.port, path: this.options.path ?? '/', agent: this.agent, timeout: this.options.requestTimeoutMs ?? 10_000 }, (res) => {
        res.resume();
        res.on('end', () => resolve({ at, ms: elapsed(), status: res.statusCode ?? 0 }));
        res.on('error', (error) => resolve({ at, ms: elapsed(), status: null, error: error.message }));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (error: NodeJS.ErrnoException) => resolve({ at, ms: elapsed(), status: null, error: error.code ?? error.message }));
    });
  }

  start(): void {
    this.running = true;
    this.loops = Array.from({ length: this.options.connections }, async () => {
      while (this.running) {
        const sample = await this.once();
        this.samples.push(sample);
        const pauseMs = Math.max(sample.status === null ? 10 : 0, (this.options.pacingMs ?? 0) - sample.ms);
        if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
      }
    });
  }

  async stop(): Promise<LoadSummary> {
    this.running = false;
    await Promise.all(this.loops);
    this.agent.destroy();
    return summarize(this.samples);
  }
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export function summarize(samples: Sample[]): LoadSummary {
  const latencies = samples.map((s) => s.ms).sort((a, b) => a - b);
  const errors = samples.filter((s) => s.status === null);
  return {
    requests: samples.length,
    non2xx: samples.filter((s) => s.status !== null && (s.status < 200 || s.status >= 300)).length,
    socketErrors: errors.length,
    errors: [...new Set(errors.map((s) => s.error ?? '?'))],
    p50Ms: Number(percentile(latencies, 50).toFixed(2)),
    p99Ms: Number(percentile(latencies, 99).toFixed(2)),
  };
}
