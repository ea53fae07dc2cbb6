import http from 'node:http';

/** One health probe's outcome; verdicts keep the probes behind them. */
export interface ProbeResult {
  at: number;
  ok: boolean;
  status: number | null;
  ms: number;
  error?: string;
}

/** GETs http://127.0.0.1:<port><path>; healthy means a 2xx within timeoutMs. A fresh connection each time. */
export function probeHttp(port: number, path: string, timeoutMs: number, host = '127.0.0.1'): Promise<ProbeResult> {
  const at = Date.now();
  return new Promise((resolve) => {
    let settled = false;
    const done = (result: Omit<ProbeResult, 'at' | 'ms'>) => {
      if (settled) return;
      settled = true;
      resolve({ at, ms: Date.now() - at, ...result });
    };
    let req: http.ClientRequest;
    try {
      req = http.get({ host, port, path, agent: false, timeout: timeoutMs, headers: { 'user-agent': 'ferry-health', connection: 'close' } }, onResponse);
    } catch (error) {
      // A path Node will not send (a space, a control character): a failed probe, never an exception.
      return done({ ok: false, status: null, error: error instanceof Error ? error.message : String(error) });
    }
    function onResponse(res: http.IncomingMessage) {
      res.resume();
      const status = res.statusCode ?? 0;
      res.on('end', () => done({ ok: status >= 200 && status < 300, status }));
      res.on('error', (error) => done({ ok: false, status, error: error.message }));
    }
    req.on('timeout', () => {
      req.destroy();
      done({ ok: false, status: null, error: `no answer within ${timeoutMs}ms` });
    });
    req.on('error', (error: NodeJS.ErrnoException) => done({ ok: false, status: null, error: error.code ?? error.message }));
  });
}

export function describeProbe(probe: ProbeResult): string {
  const time = new Date(probe.at).toISOString().slice(11, 23);
  return `${time} ${probe.ok ? 'pass' : 'FAIL'} ${probe.status ?? '-'} ${probe.ms}ms${probe.error ? ` ${probe.error}` : ''}`;
}
