import net from 'node:net';
import { getSystemErrorName } from 'node:util';

/**
 * A listening socket the router's master holds without accepting on it: its workers accept, each on its own
 * copy, as nginx's workers do. A connection then reaches the worker that takes it without a hop through the
 * master (a message and a handle per connection over IPC, which under load held a burst of new connections
 * for tens of milliseconds). The master's copy keeps the socket open while a worker is replaced, so nothing
 * is refused meanwhile: connections wait in the kernel's backlog.
 */
export interface SharedListener {
  close(): void;
}

interface NetWithServerHandle {
  /** What Node's cluster module binds a shared server socket with: a bound TCP handle, or a negative errno. */
  _createServerHandle?: (address: string, port: number, addressType: number, fd?: number, flags?: number) => SharedListener | number;
}

const createServerHandle = (net as unknown as NetWithServerHandle)._createServerHandle;

/** Whether this Node can bind a socket for the workers (else the master accepts and hands connections over). */
export const canShareListeners = typeof createServerHandle === 'function';

/**
 * Binds host:port for the workers. It listens (takes connections into its backlog) from the first worker's
 * listen on it; until then a connection is refused, so the caller waits for one before saying it listens.
 */
export function bindShared(host: string, port: number): SharedListener {
  const bound = createServerHandle!(host, port, net.isIPv6(host) ? 6 : 4, undefined, 0);
  if (typeof bound === 'number') throw Object.assign(new Error(getSystemErrorName(bound)), { code: getSystemErrorName(bound) });
  return bound;
}
