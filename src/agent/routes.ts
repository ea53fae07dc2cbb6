import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ZodType } from 'zod';
import { environmentOf } from '../config/load.js';
import type { FerryConfig } from '../config/schema.js';
import { usageError } from '../util/errors.js';
import type { Caller } from './request-guard.js';

/**
 * Who may call a route: anyone (`public`), any token (`read`), the admin token reading logs (`logs`: the
 * project's own output, which can print anything), the admin token changing something (`change`; from a
 * dashboard session, only from the page's own origin).
 */
export type RouteAuth = 'public' | 'read' | 'logs' | 'change';

export interface RouteContext<B> {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** The path pattern's named groups. */
  params: Record<string, string>;
  /** Undefined for public routes. */
  caller: Caller | undefined;
  /** The request body, checked against the route's schema (undefined when the route takes none). */
  body: B;
}

/** One route of an HTTP API: method, path, who may call it, its body's schema, and what answers it. */
export interface Route<B = unknown> {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** A literal path, or an anchored pattern whose named groups become `params`. */
  path: string | RegExp;
  auth: RouteAuth;
  /** Answers even when the agent's database file was replaced under it (signing in, rotating a token). */
  withoutDatabase?: boolean;
  body?: ZodType<B>;
  handle(context: RouteContext<B>): Promise<void> | void;
}

/** A route with its body's type checked against its handler (the table holds routes of many body types). */
export const route = <B = undefined>(definition: Route<B>): Route => definition as Route;

/** The `env` query parameter, checked against ferry.yml (an unknown one is a usage error naming those that exist); `fallback` when absent. */
/** A whole-number query parameter from 1 to `max` (`fallback` when absent); anything else is a usage error naming it. */
export function countParam(url: URL, name: string, fallback: number, max = 10_000): number {
  const value = url.searchParams.get(name);
  if (value === null) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) throw usageError('USAGE', `${name} must be a whole number from 1 to ${max} (found "${value}")`);
  return Number(value);
}

export function queryEnv(config: () => FerryConfig, url: URL, fallback: string): string;
export function queryEnv(config: () => FerryConfig, url: URL): string | undefined;
export function queryEnv(config: () => FerryConfig, url: URL, fallback?: string): string | undefined {
  const env = url.searchParams.get('env') ?? fallback;
  if (env !== undefined) environmentOf(config(), env);
  return env;
}
