import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dataFolders } from './data-folders.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-data-folders-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const write = (files: Record<string, string>) => {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
};
const commitAll = () => {
  const git = (...args: string[]) => expect(spawnSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@localhost', ...args]).status).toBe(0);
  git('init', '-q');
  git('add', '-A');
  git('commit', '-qm', 'app');
};

describe('the data folders ferry init proposes as shared:', () => {
  it('takes the folders .gitignore ignores by a data name, not build output, globs or negations', () => {
    write({ '.gitignore': 'node_modules/\ndist\n/data/\npublic/uploads\n*.log\n!var\nstorage/*.db\n# db/\n' });
    expect(dataFolders(dir)).toEqual([
      { path: 'data', from: '.gitignore ignores it' },
      { path: 'public/uploads', from: '.gitignore ignores it' },
    ]);
  });

  it('takes the folders the source writes under that the commit does not hold; not a committed folder, a module, a subfolder, an event name, a route or a test', () => {
    write({
      'server.js': "const file = join(process.cwd(), 'var', 'count.txt');\nsocket.on('data', read);\napp.get('/uploads', list);\nconst seeds = './fixtures/data.json';\n",
      'src/db.ts': "new Database(resolve(import.meta.dirname, 'storage'), 'app.db');\nconst countries = readFileSync('./db/countries.json');\n",
      // Modules beside the file, and a folder under another one: not data folders of the app.
      'src/api/index.js': "const files = require('./files');\nimport db from './database';\nconst attachments = await import('./attachments/index.js');\nconst uploads = join(dataDir, 'upload/');\n",
      'db/countries.json': '[]',
      'test/app.test.js': "writeFileSync('./uploads/x', '');",
      'node_modules/lib/index.js': "open('./data/cache');",
      'config.yaml': 'storage: ./storage\nlisten: 0.0.0.0:4873\nuplinks: { url: ./database-mirror }\n',
      '.env.example': 'DB_PATH=./data/app.db\n',
      'package-lock.json': '{ "packages": { "node_modules/x": { "resolved": "./files/x.tgz" } } }',
    });
    commitAll();
    expect(dataFolders(dir)).toEqual([
      { path: 'data', from: '.env.example uses it, and the commit has no files there' },
      { path: 'storage', from: 'src/db.ts uses it, and the commit has no files there' },
      { path: 'var', from: 'server.js uses it, and the commit has no files there' },
    ]);
  });

  it('a folder the commit keeps only with a placeholder (.gitkeep, a .gitignore of *) is still the app\'s data', () => {
    write({
      '.gitignore': 'node_modules/\nstorage/*\n!storage/.gitkeep\n',
      'storage/.gitkeep': '',
      'uploads/.gitignore': '*\n!.gitignore\n',
      'var/.keep': '',
      'var/seed.json': '{}',
      'server.js': "const db = './storage/app.db';\nconst uploads = './uploads';\nconst counts = 'var/counts.json';\n",
    });
    commitAll();
    expect(dataFolders(dir)).toEqual([
      { path: 'storage', from: '.gitignore ignores it' },
      { path: 'uploads', from: 'server.js uses it, and the commit has no files there' },
    ]);
  });

  it('names a folder once, by .gitignore where both say so; and nothing for a project that keeps no data', () => {
    write({ '.gitignore': 'data/\n', 'index.js': "fs.writeFileSync('./data/state.json', '{}');" });
    expect(dataFolders(dir)).toEqual([{ path: 'data', from: '.gitignore ignores it' }]);
    rmSync(join(dir, '.gitignore'));
    write({ 'index.js': "http.createServer((req, res) => res.end('hi')).listen(process.env.PORT);" });
    expect(dataFolders(dir)).toEqual([]);
  });
});
