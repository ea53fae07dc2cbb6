// npm's prepare: builds dist/. When ferry is installed from a clone's folder (`npm install -g ./ferry`), npm
// only links the folder and runs this script there, without installing the folder's dependencies: so when
// they are missing, install them first (with the dev ones the build needs); that install runs this script
// again, which then builds. A git URL install and `npm ci` in a checkout arrive with them and just build.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const run = (command, args, env = process.env) => {
  const result = spawnSync(command, args, { stdio: 'inherit', env });
  if (result.status !== 0) {
    console.error(`ferry's prepare: \`${command} ${args.join(' ')}\` exited ${result.status ?? result.signal}`);
    process.exit(result.status || 1);
  }
};

if (existsSync('node_modules/typescript/package.json')) {
  run('npm', ['run', 'build']);
} else {
  console.error("ferry's prepare: this folder has no node_modules (npm links a folder it installs from without installing its dependencies); installing them to build ferry…");
  // The outer install's settings (--global, its prefix, --omit=dev, --allow-scripts) are for the outer install, not
  // this folder's; keep only where packages come from.
  const keep = /^npm_config_(cache|registry|userconfig|globalconfig|prefer_offline|offline|@[\w-]+:registry)$/i;
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_config_/i.test(key) || keep.test(key)));
  run('npm', ['install', '--include=dev', '--no-save', '--no-audit', '--no-fund'], env);
}
