import { spawn, type ChildProcess } from 'node:child_process';
import { watch, type FSWatcher } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { shellStartScript } from '../shared/shell-command.js';

export interface ReloaderOptions {
  command: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Path segments whose changes are ignored (node_modules, .git…). */
  ignore: string[];
  /** Changes closer together than this restart once. */
  debounceMs: number;
  /** Between SIGTERM and SIGKILL when the app restarts or stops. */
  stopGraceMs: number;
  onOutput: (line: string) => void;
  onEvent: (message: string) => void;
}

/**
 * Runs the app's command in its own process group and runs it again when a file of the project changes
 * (Node's recursive fs.watch): what nodemon does, for any start command, without a dependency.
 */
export class Reloader {
  private child: ChildProcess | undefined;
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private changed = new Set<string>();
  private stopping = false;
  restarts = 0;

  constructor(private readonly options: ReloaderOptions) {}

  start(): void {
    this.spawn();
    this.watcher = watch(this.options.cwd, { recursive: true }, (_event, file) => {
      if (!file || this.stopping) return;
      const name = file.toString();
      if (name.split('/').some((segment) => this.options.ignore.includes(segment))) return;
      this.changed.add(name);
      clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.restart(), this.options.debounceMs);
    });
  }

  private spawn(): void {
    const child = spawn('sh', ['-c', shellStartScript(this.options.command)], { cwd: this.options.cwd, env: this.options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    for (const stream of [child.stdout!, child.stderr!]) {
      let partial = '';
      stream.on('data', (chunk: Buffer) => {
        const lines = (partial + chunk.toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) this.options.onOutput(line);
      });
    }
    child.once('exit', (code, signal) => {
      if (this.child === child && !this.stopping) this.options.onEvent(`the app exited (${signal ?? `code ${code}`}); it starts again when a file changes`);
    });
  }

  private async restart(): Promise<void> {
    const files = [...this.changed];
    this.changed.clear();
    this.options.onEvent(`changed: ${files.slice(0, 3).join(', ')}${files.length > 3 ? ` and ${files.length - 3} more` : ''}; restarting`);
    await this.stopChild();
    if (this.stopping) return;
    this.restarts++;
    this.spawn();
  }

  private async stopChild(): Promise<void> {
    const child = this.child;
    // No longer the app: its exit is ours, not news.
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      return;
    }
    if (await Promise.race([exited.then(() => true), sleep(this.options.stopGraceMs).then(() => false)])) return;
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
    await exited;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    this.watcher?.close();
    await this.stopChild();
  }
}
