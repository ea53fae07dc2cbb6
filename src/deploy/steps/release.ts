import { chmodSync, copyFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { privateDir } from '../../shared/file-modes.js';
import { CONFIG_FILE } from '../../config/load.js';
import { FerryError } from '../../util/errors.js';
import { writeJsonAtomic } from '../../util/fs-atomic.js';
import { releaseLayout } from '../release-files.js';
import { exportSource } from '../source.js';
import type { Step } from '../step.js';

/** Creates release rN: its directory holds the commit's files (git archive), the ferry.yml snapshot and a manifest. */
export const release: Step = {
  name: 'release',
  async run(ctx) {
    const { store, paths, projectDir } = ctx.deps;
    const { env, source, config } = ctx.request;
    const created = store.createRelease({ env, commit: source!.commit, ref: source!.ref, branch: source!.branch, subject: source!.subject, author: source!.author, dir: (id) => paths.release(env, id), configJson: JSON.stringify(config.environments[env]) });
    ctx.release = created;
    store.setDeploymentRelease(ctx.deploymentId, created.id);
    // Ids come from the database; a directory of that id means the database lost track of it. Never write into it.
    if (existsSync(created.dir)) throw new FerryError({ code: 'INTERNAL', message: `release directory ${created.dir} already exists; refusing to reuse ${created.id}` });
    const layout = releaseLayout(created.dir);
    // The state's folders are 0700 and its files 0600 (a folder made before this rule is made so too): the
    // commit's files and its config are the owner's alone. `user:` opens the way to the app later (build).
    for (const dir of [dirname(dirname(created.dir)), dirname(created.dir), created.dir, layout.app]) privateDir(dir);
    if (source!.dirty && source!.fromGit) ctx.progress(`uncommitted changes in the project are not deployed; building commit ${source!.commit.slice(0, 7)}`);
    if (!source!.fromGit) ctx.progress('not a git repository: deploying the working tree as it is');
    await exportSource(projectDir, source!, layout.app, paths.root);
    const configFile = join(projectDir, CONFIG_FILE);
    if (existsSync(configFile)) {
      copyFileSync(configFile, layout.config);
      chmodSync(layout.config, 0o600);
    }
    writeJsonAtomic(layout.manifest, { id: created.id, env, commit: source!.commit, ref: source!.ref, branch: source!.branch ?? null, subject: source!.subject ?? null, createdAt: new Date(created.createdAt).toISOString() });
    return `${created.id}: ${source!.commit.slice(0, 12)} (${source!.ref}) → ${layout.app}`;
  },
};
