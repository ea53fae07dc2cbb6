import type { ProxyHostOptions, ProxyStats, RoutingView, UpstreamLoad } from './proxy-host.js';

/**
 * What the master tells a worker. A `connection` message carries the client socket as its handle; a `listen`
 * message the listening socket the worker accepts on for a listener (an environment's HTTP or HTTPS port),
 * replacing the one it had for it.
 */
export type ToWorker =
  | { type: 'table'; seq: number; view: RoutingView }
  | { type: 'connection'; env: string; id: number }
  | { type: 'listen'; seq: number; listener: string; port: number }
  | { type: 'unlisten'; listener: string }
  | { type: 'stats'; seq: number }
  /** Only the requests in flight per upstream (a drain asks every 20 ms). */
  | { type: 'inflight'; seq: number }
  | { type: 'counting'; seq: number; enabled: boolean }
  | { type: 'forget'; id: string }
  /** End the connections gracefully and exit (the router is handing over). */
  | { type: 'drain'; timeoutMs: number };

/** What a worker answers: every message with a seq gets one reply with that seq. */
export type FromWorker = { type: 'ack'; seq: number; error?: string } | { type: 'stats'; seq: number; stats: ProxyStats } | { type: 'accepted'; id: number } | { type: 'inflight'; seq: number; load: UpstreamLoad };

/** A worker's settings, given on its command line (argv[2], JSON). */
export type WorkerSettings = ProxyHostOptions & { counting: boolean };
