import { join } from 'node:path';

export function routerPaths(stateDir: string) {
  const dir = join(stateDir, 'router');
  return { dir, socket: join(dir, 'control.sock'), pid: join(dir, 'router.pid'), log: join(dir, 'router.log') };
}
