/** One entry of `volumes:`: a named volume (`name:/path`) or a bind mount (`/host/path:/path`), optionally read-only. */
export interface Mount {
  type: 'volume' | 'bind';
  /** The engine's volume name (`<app>-<env>-<name>`, so environments and apps never share data by accident) or the host path. */
  source: string;
  target: string;
  readOnly: boolean;
}

export const VOLUME_PATTERN = /^([A-Za-z0-9][A-Za-z0-9_.-]*|\/[^:]*):(\/[^:]*)(:ro|:rw)?$/;

/** Pure: the mounts of an environment's containers. */
export function mountsOf(volumes: string[], app: string, env: string): Mount[] {
  return volumes.map((entry) => {
    const [, source, target, mode] = VOLUME_PATTERN.exec(entry)!;
    const bind = source.startsWith('/');
    return { type: bind ? 'bind' : 'volume', source: bind ? source : `${app}-${env}-${source}`, target, readOnly: mode === ':ro' };
  });
}
