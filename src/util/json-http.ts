import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ZodType } from 'zod';
import { FerryError } from './errors.js';

/**
 * Reads a JSON request body of at most limitBytes. An oversized body is read to its end and dropped (not
 * cut off), so the client gets its 413 instead of a reset connection. Callers get it checked: readBody.
 */
async function readJsonBody(req: IncomingMessage, limitBytes = 1_000_000): Promise<unknown> {
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
  if (text.length === 0) return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new FerryError({ code: 'INVALID_JSON', message: `the request body is not valid JSON: ${(error as Error).message}` });
  }
}

/**
 * A value that crossed a process boundary (an API body, a router control message), checked against its schema:
 * what does not fit is the caller's mistake, a USAGE error (400) naming each field and what is wrong with it.
 */
export function parseBody<T>(schema: ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const details = result.error.issues.map((issue) => `${issue.path.length ? issue.path.join('.') : 'body'}: ${issue.message}`);
  throw new FerryError({ code: 'USAGE', message: `${what}: ${details.join('; ')}`, details });
}

/** Reads a JSON body (readJsonBody) and checks it against its schema (parseBody). */
export async function readBody<T>(req: IncomingMessage, schema: ZodType<T>, what: string, limitBytes?: number): Promise<T> {
  return parseBody(schema, await readJsonBody(req, limitBytes), what);
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}
