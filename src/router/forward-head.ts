import type { RequestHead } from './request-parser.js';
import { CONNECTION_OPTIONS } from './response-parser.js';

/** Fields that describe one connection, not the message (RFC 9110 7.6.1), and the X-Forwarded-* the router sets itself. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']);
/** Only names of these lengths are lowercased and looked at. */
const NOTED_LENGTHS = new Set([...HOP_BY_HOP, 'host'].map((name) => name.length));

/** Who the client is, as the router saw its connection. */
export interface ClientAddress {
  remoteAddress?: string;
  localAddress?: string;
  localPort?: number;
}

/**
 * The request head as the upstream gets it: HTTP/1.1, hop-by-hop fields (and the fields Connection names)
 * dropped, X-Forwarded-For appended to, X-Forwarded-Proto and X-Forwarded-Host set, a chunked body re-framed
 * as chunked, and an upgrade's Connection and Upgrade kept.
 */
export function upstreamRequestHead(head: RequestHead, client: ClientAddress, proto: 'http' | 'https'): string {
  let text = `${head.method} ${head.target} HTTP/1.1\r\n`;
  let host: string | undefined;
  let forwardedFor: string | undefined;
  let upgrade: string | undefined;
  let named: string[] | undefined;
  for (const [name, value] of head.headers) {
    if (!NOTED_LENGTHS.has(name.length)) {
      text += `${name}: ${value}\r\n`;
      continue;
    }
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower)) {
      if (lower === 'x-forwarded-for') forwardedFor = forwardedFor ? `${forwardedFor}, ${value}` : value;
      else if (lower === 'upgrade') upgrade = value;
      else if (lower === 'connection') {
        for (const token of value.toLowerCase().split(',')) {
          const option = token.trim();
          if (option && !CONNECTION_OPTIONS.has(option)) (named ??= []).push(option);
        }
      }
      continue;
    }
    if (lower === 'host') host = value;
    text += `${name}: ${value}\r\n`;
  }
  if (named) text = dropNamed(text, named);
  if (host === undefined) {
    host = `${client.localAddress ?? '127.0.0.1'}:${client.localPort ?? 80}`;
    text += `host: ${host}\r\n`;
  }
  const address = client.remoteAddress ?? '';
  text += `x-forwarded-for: ${forwardedFor ? `${forwardedFor}, ${address}` : address}\r\nx-forwarded-proto: ${proto}\r\nx-forwarded-host: ${host}\r\n`;
  if (head.body.kind === 'chunked') text += 'transfer-encoding: chunked\r\n';
  if (head.upgrade && upgrade !== undefined) text += `connection: upgrade\r\nupgrade: ${upgrade}\r\n`;
  return `${text}\r\n`;
}

/** Removes the header lines whose names Connection lists (rare: the fast path never gets here). */
function dropNamed(text: string, named: string[]): string {
  const lines = text.split('\r\n');
  return lines.filter((line, index) => index === 0 || !named.includes(line.slice(0, line.indexOf(':')).toLowerCase())).join('\r\n');
}
