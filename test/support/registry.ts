import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/util/ports.js';
import { sleep } from '../../src/util/sleep.js';

export const REGISTRY_BIN = '/usr/bin/docker-registry';

/** A Docker registry (Debian's docker-registry, the CNCF distribution) on a loopback port, storing in a temp dir. */
export interface TestRegistry {
  /** host:port, for `registry.server`; the engine treats 127.0.0.0/8 registries as plain HTTP. */
  address: string;
  tags(repository: string): Promise<string[]>;
  stop(): Promise<void>;
}

export const registryAvailable = () => existsSync(REGISTRY_BIN);

export async function startRegistry(startTimeoutMs = 20_000): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-registry-'));
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const config = join(dir, 'config.yml');
  writeFileSync(config, `version: 0.1\nlog: { level: warn }\nstorage: { filesystem: { rootdirectory: ${join(dir, 'data')} } }\nhttp: { addr: "${address}" }\n`);
  const log = join(dir, 'registry.log');
  const out = openSync(log, 'a');
  const child: ChildProcess = spawn(REGISTRY_BIN, ['serve', config], { stdio: ['ignore', out, out] });
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    if ((await fetch(`http://${address}/v2/`).then((r) => r.status, () => 0)) === 200) break;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the test registry did not start on ${address}:\n${readFileSync(log, 'utf8')}`);
    await sleep(100);
  }
  return {
    address,
    async tags(repository) {
      const response = await fetch(`http://${address}/v2/${repository}/tags/list`);
      return response.ok ? (((await response.json()) as { tags: string[] | null }).tags ?? []).sort() : [];
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
