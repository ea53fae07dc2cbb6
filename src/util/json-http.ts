import type { IncomingMessage, ServerResponse } from 'node:http';
import { FerryError } from './errors.js';

/**
 * Reads a JSON request body of at most limitBytes. An oversized body is read to its end and dropped (not
 * cut off), so the client gets its 413 instead of a reset connection.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a request body's JSON; the caller validates it
export async function readJsonBody<T = any>(req: IncomingMessage, limitBytes = 1_000_000): Promise<T> {
  const declared = Number(req.headers['content-length'] ?? 0);
  const text = await new Promise<string | undefined>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = declared > limitBytes;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) over = true;
      if (!over) chunks.push(chunk);
    });
    req.on('end', () => resolve(over ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
  if (text === undefined) throw new FerryError({ code: 'BODY_TOO_LARGE', message: `the request body is over ${limitBytes} bytes` });
  if (text.length === 0) return {} as T;
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new FerryError({ code: 'INVALID_JSON', message: `the request body is not valid JSON: ${(error as Error).message}` });
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}
