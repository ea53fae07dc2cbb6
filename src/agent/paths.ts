import { join, resolve } from 'node:path';

/** Where ferry keeps one project's state: <project>/.ferry unless FERRY_STATE_DIR says otherwise. */
export function statePaths(projectDir: string, stateDir = process.env.FERRY_STATE_DIR ?? join(resolve(projectDir), '.ferry')) {
  return {
    root: stateDir,
    db: join(stateDir, 'ferry.db'),
    agentInfo: join(stateDir, 'agent.json'),
    agentLog: join(stateDir, 'agent.log'),
    releases: (env: string) => join(stateDir, 'releases', env),
    release: (env: string, id: string) => join(stateDir, 'releases', env, id),
    backups: (env: string) => join(stateDir, 'backups', env),
    backup: (env: string, deploymentId: number) => join(stateDir, 'backups', env, `d${deploymentId}`),
    instanceLog: (env: string, instanceId: string) => join(stateDir, 'logs', env, `${instanceId}.log`),
    logs: (env: string) => join(stateDir, 'logs', env),
  };
}

export type StatePaths = ReturnType<typeof statePaths>;
