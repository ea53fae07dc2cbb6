import http, { type IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { agentError } from '../agent/client.js';
import type { SshConnection } from './ssh.js';

/** The agent on a host, reached through the SSH connection (its API listens on the host's loopback only). */
export class RemoteAgent {
  constructor(private readonly connection: SshConnection, readonly port: number, readonly token: string) {}

  /**
   * Starts the host's agent for the project there (`project`: a word for the host's shell) unless one runs;
   * with `build`, an agent of another build is replaced by one of it (the router and instances keep serving).
   * Its port and admin token.
   */
  static async start(connection: SshConnection, ferry: string, project: string, build?: string): Promise<RemoteAgent> {
    const launch = async () => {
      const info = JSON.parse(await connection.run(`${ferry} agent -d --project ${project} --json`, 'starting the agent')) as { url: string };
      // The token crosses the encrypted connection into this process only: never printed, never on a command line.
      const token = (await connection.run(`${ferry} token --project ${project}`, 'reading the agent\'s token')).trim();
      return new RemoteAgent(connection, Number(new URL(info.url).port), token);
    };
    let agent = await launch();
    const health = (await agent.json<{ build?: string; pid: number }>('GET', '/api/health'));
    if (build && health.build !== build) {
      // An agent of another build: it stops (the router and the instances keep serving), and one of this build starts (and hands the router over).
      await agent.json('POST', '/api/shutdown', { stopRouter: false });
      for (let i = 0; i < 200; i++) {
        const alive = await connection.exec(`kill -0 ${health.pid} 2>/dev/null`);
        if (alive.code !== 0) break;
        await sleep(50);
      }
      agent = await launch();
    }
    return agent;
  }

  private request(method: string, path: string, body?: unknown): Promise<IncomingMessage> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const request = http.request({
        method,
        path,
        headers: { host: `127.0.0.1:${this.port}`, authorization: `Bearer ${this.token}`, ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}) },
        createConnection: (_options, created) => {
          this.connection.forward(this.port).then((stream) => created(null, stream as never), (error) => created(error, undefined as never));
          return undefined;
        },
      });
      request.once('response', resolve);
      request.once('error', reject);
      request.end(payload);
    });
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.request(method, path, body);
    let text = '';
    for await (const chunk of response) text += chunk;
    const parsed = text ? JSON.parse(text) : {};
    if ((response.statusCode ?? 500) >= 400) throw agentError(response.statusCode ?? 500, parsed);
    return parsed as T;
  }

  /** POSTs and hands each NDJSON record to onEvent until the agent ends the stream; rejects if the connection drops. */
  async stream(path: string, body: unknown, onEvent: (event: unknown) => void): Promise<void> {
    const response = await this.request('POST', path, body);
    if ((response.statusCode ?? 500) >= 400) {
      let text = '';
      for await (const chunk of response) text += chunk;
      throw agentError(response.statusCode ?? 500, JSON.parse(text || '{}'));
    }
    let buffered = '';
    await new Promise<void>((resolve, reject) => {
      response.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) if (line.trim()) onEvent(JSON.parse(line));
      });
      response.once('end', () => (response.complete ? resolve() : reject(new Error('the stream ended early'))));
      response.once('error', reject);
      response.once('aborted', () => reject(new Error('the connection dropped')));
    });
  }
}
