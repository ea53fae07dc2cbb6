// npm's prepare: builds dist/. When ferry is installed from a clone's folder (`npm install -g ./ferry`), npm
// only links the folder and runs this script there, without installing the folder's dependencies: so when
// they are missing, install what ferry runs with and the one tool its build needs (esbuild, at the lockfile's
// version), not the development tools (TypeScript, ESLint, vitest, Chromium's driver: 366 packages and 201 MB
// against 195 and 80 MB), then build. A git URL install and `npm ci` in a checkout arrive with them and just build.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

const run = (command, args, env = process.env) => {
  const result = spawnSync(command, args, { stdio: 'inherit', env });
  if (result.status !== 0) {
    console.error(`ferry's prepare: \`${command} ${args.join(' ')}\` exited ${result.status ?? result.signal}`);
    process.exit(result.status || 1);
  }
};

if (!existsSync('node_modules/esbuild/package.json')) {
  console.error("ferry's prepare: this folder has no node_modules (npm links a folder it installs from without installing its dependencies); installing them to build ferry…");
  // The outer install's own settings (--global, its prefix, --omit=dev, --allow-scripts, what it saves) are for the
  // outer install, not this folder's. The rest is kept: where packages and prebuilt binaries come from
  // (registries, a better-sqlite3 binary host or mirror, proxies, certificates), the cache, node-gyp's headers.
  // (Dropping them all once made better-sqlite3 compile here for a minute, its prebuilt binary's host unknown.)
  const outer = /^npm_config_(global|global_prefix|prefix|local_prefix|location|allow_scripts|ignore_scripts|omit|include|only|production|dev|also|save.*|package_lock.*|install_links|install_strategy|global_style|legacy_bundling|workspaces?|include_workspace_root|user_agent|npm_version)$/i;
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !outer.test(key)));
  const locked = existsSync('package-lock.json') ? JSON.parse(readFileSync('package-lock.json', 'utf8')).packages?.['node_modules/esbuild']?.version : undefined;
  const esbuild = `esbuild@${locked ?? JSON.parse(readFileSync('package.json', 'utf8')).devDependencies.esbuild}`;
  // An install that names a package runs no prepare of this folder: the build below is the only one.
  run('npm', ['install', '--omit=dev', '--no-save', '--no-audit', '--no-fund', esbuild], env);
}
run('npm', ['run', 'build']);
