import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ciWorkflow, deployWorkflow, dockerfile, DOCKERIGNORE, ferryYml, gitignore, rollbackWorkflow, type InitFacts } from '../init/templates.js';
import type { Io } from './output.js';
import { CONFIG_FILE, loadConfig } from '../config/load.js';
import { appNameFor, workflowSchema } from '../config/schema.js';

/** What the project tells about itself: its name, how it starts, its Node version. */
function factsOf(projectDir: string): InitFacts {
  const file = join(projectDir, 'package.json');
  const manifest = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { name?: string; main?: string; scripts?: Record<string, string>; engines?: { node?: string } }) : {};
  const app = appNameFor(manifest.name);
  const started = /^node\s+(\S+)/.exec(manifest.scripts?.start ?? '')?.[1];
  const nodeVersion = /(\d{2})/.exec(manifest.engines?.node ?? '')?.[1] ?? '20';
  // In ferry's own repository `npx ferry` would fetch a package of that name: run the checkout's ferry instead.
  const ferry = manifest.name === 'ferry' && existsSync(join(projectDir, 'bin/ferry.js')) ? 'node bin/ferry.js' : 'npx ferry';
  return { app, entry: started ?? manifest.main ?? 'index.js', nodeVersion, ferry, builds: Boolean(manifest.scripts?.build) };
}

/** `ferry init`: writes what is missing, never overwrites without --force, and says what it did with each file. */
export async function init(io: Io, projectDir: string, options: { force?: boolean; workflowsOnly?: boolean }): Promise<number> {
  const facts = factsOf(projectDir);
  // An existing ferry.yml shapes the workflows: its CI services and setup, and whether there is anything to deploy.
  const config = existsSync(join(projectDir, CONFIG_FILE)) ? loadConfig(projectDir) : undefined;
  const deploys = !config || Object.keys(config.environments).length > 0;
  const files: Array<[string, string]> = [
    ...(options.workflowsOnly ? [] : ([['ferry.yml', ferryYml(facts)], ['Dockerfile', dockerfile(facts)], ['.dockerignore', DOCKERIGNORE]] as Array<[string, string]>)),
    ['.github/workflows/ci.yml', ciWorkflow(facts, config?.workflow ?? workflowSchema.parse({}))],
    ...(deploys ? ([['.github/workflows/deploy.yml', deployWorkflow(facts)], ['.github/workflows/rollback.yml', rollbackWorkflow(facts)]] as Array<[string, string]>) : []),
  ];
  const done: Array<{ file: string; action: 'wrote' | 'overwrote' | 'kept'; note?: string }> = [];
  // A project's own .gitignore is never replaced, not even with --force: ferry only says what it lacks.
  if (!options.workflowsOnly) {
    const path = join(projectDir, '.gitignore');
    if (!existsSync(path)) {
      writeFileSync(path, gitignore(facts));
      done.push({ file: '.gitignore', action: 'wrote' });
    } else {
      const ignoresState = /^\/?\.ferry\/?\s*$/m.test(readFileSync(path, 'utf8'));
      done.push({ file: '.gitignore', action: 'kept', note: ignoresState ? 'exists' : 'exists; add `.ferry/` to it: ferry\'s state must not be committed' });
    }
  }
  for (const [name, content] of files) {
    const path = join(projectDir, name);
    const exists = existsSync(path);
    if (exists && !options.force) {
      done.push({ file: name, action: 'kept' });
      continue;
    }
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
    done.push({ file: name, action: exists ? 'overwrote' : 'wrote' });
  }
  if (io.json) io.out(JSON.stringify({ app: facts.app, files: done }, null, 2));
  else {
    for (const d of done) io.out(`${d.action.padEnd(9)} ${d.file}${d.action === 'kept' ? ` (${d.note ?? 'exists; --force replaces it'})` : ''}`);
    io.out(`next: review ferry.yml, commit, then \`ferry ci\` locally; deploys run on a self-hosted runner labelled "ferry"`);
  }
  return 0;
}
