import { join } from 'node:path';
import { stateLocation } from './location.js';

/** The files and folders of one project's state, under the folder stateLocation() picks (or the one given). */
export function statePaths(projectDir: string, stateDir = stateLocation(projectDir).dir) {
  return {
    root: stateDir,
    db: join(stateDir, 'ferry.db'),
    agentInfo: join(stateDir, 'agent.json'),
    /** The API's admin and read-only tokens (0600), kept across agent restarts. */
    tokens: join(stateDir, 'tokens.json'),
    /** The dashboard's sign-ins (0600): signing out or rotating a token ends them. */
    sessions: join(stateDir, 'sessions.json'),
    agentLog: join(stateDir, 'agent.log'),
    agentOut: join(stateDir, 'agent.out'),
    releases: (env: string) => join(stateDir, 'releases', env),
    release: (env: string, id: string) => join(stateDir, 'releases', env, id),
    backups: (env: string) => join(stateDir, 'backups', env),
    backup: (env: string, deploymentId: number) => join(stateDir, 'backups', env, `d${deploymentId}`),
    instanceLog: (env: string, instanceId: string) => join(stateDir, 'logs', env, `${instanceId}.log`),
    logs: (env: string) => join(stateDir, 'logs', env),
    ciRun: (runId: number) => join(stateDir, 'ci', `run-${runId}`),
    /** Installed dependency trees by key (lockfile, package manager, Node version), hard-linked into releases. */
    deps: join(stateDir, 'deps'),
    /** An environment's `shared:` folders, linked into each of its releases (process runtime). */
    shared: (env: string) => join(stateDir, 'shared', env),
    /** ACME account keys, and each environment's obtained certificates and keys (0600). */
    tls: join(stateDir, 'tls'),
    tlsOf: (env: string) => join(stateDir, 'tls', env),
  };
}

export type StatePaths = ReturnType<typeof statePaths>;
