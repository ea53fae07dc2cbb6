import type { RouterClient, RouterSnapshot } from '../router/client.js';

export interface Serving {
  port: number | null;
  instanceIds: string[];
  release: string | null;
}

/** What an environment serves right now, read from the router (the data plane is the truth). */
export function servingFrom(snapshot: RouterSnapshot, env: string): Serving {
  const route = snapshot.routes[env];
  const instanceIds = route?.upstreams ?? [];
  // The routing table names the release; tables written before it did are read from the instances.
  const release = instanceIds.length === 0 ? null : (route?.release ?? instanceIds.map((id) => snapshot.instances[id]?.release).find(Boolean) ?? null);
  return { port: route?.port ?? null, instanceIds, release };
}

export async function servingOf(router: RouterClient, env: string): Promise<Serving> {
  return servingFrom(await router.state(), env);
}
