import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { archiveContext, contextEntries } from './build-context.js';
import { labelledDockerfile } from './image-build.js';

const dirs: string[] = [];
function contextWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-context-'));
  dirs.push(dir);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe('build context', () => {
  const files = {
    Dockerfile: 'FROM scratch\n',
    'server.js': '',
    'README.md': '',
    'CHANGELOG.md': '',
    'docs/guide.md': '',
    'secrets/key.pem': '',
    'secrets/public.txt': '',
    'node_modules/a/index.js': '',
    'src/app.js': '',
    'src/app.test.js': '',
  };

  it('follows .dockerignore as docker build does, `!` re-inclusions and all', () => {
    const dir = contextWith({ ...files, '.dockerignore': '# comment\n*.md\n!README.md\nsecrets\n!secrets/public.txt\nnode_modules\n**/*.test.js\nDockerfile\n' });
    expect(contextEntries(dir, 'Dockerfile')).toEqual([
      '.dockerignore', 'Dockerfile', 'README.md', 'docs', 'docs/guide.md', 'secrets', 'secrets/public.txt', 'server.js', 'src', 'src/app.js',
    ]);
  });

  it('sends everything without a .dockerignore, and archives exactly the entries', async () => {
    const dir = contextWith(files);
    expect(contextEntries(dir, 'Dockerfile')).toHaveLength(Object.keys(files).length + 5); // + docs, secrets, node_modules, node_modules/a, src
    const ignored = contextWith({ ...files, '.dockerignore': 'node_modules\n*.md\n' });
    const tar = join(ignored, '..', `${ignored.split('/').pop()}.tar`);
    dirs.push(tar, `${tar}.list`);
    await archiveContext(ignored, 'Dockerfile', tar);
    const listed = execFileSync('tar', ['-tf', tar], { encoding: 'utf8' }).trim().split('\n').map((p) => p.replace(/\/$/, ''));
    expect(listed.sort()).toEqual(contextEntries(ignored, 'Dockerfile'));
    expect(listed).not.toContain('node_modules/a/index.js');
    await archiveContext(ignored, 'Dockerfile', tar, { name: '.derived.Dockerfile', content: 'FROM x\n' });
    expect(execFileSync('tar', ['-xOf', tar, '.derived.Dockerfile'], { encoding: 'utf8' })).toBe('FROM x\n');
  });
});

describe('labelledDockerfile', () => {
  it("appends all of ferry's labels as one LABEL line, quoted, after the last line", () =>
    expect(labelledDockerfile('FROM base\nCOPY . .', { 'ferry.app': 'hello', 'ferry.commit': 'a "b"' })).toBe('FROM base\nCOPY . .\nLABEL "ferry.app"="hello" "ferry.commit"="a \\"b\\""\n'));
  it('leaves the Dockerfile alone without labels', () => expect(labelledDockerfile('FROM base\n', {})).toBeUndefined());
});
