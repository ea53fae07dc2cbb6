import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configReader, parseConfig } from './load.js';
import { FerryError } from '../util/errors.js';
import { REPO_ROOT } from '../../test/support/project.js';

function problems(yaml: string): string[] {
  try {
    parseConfig(yaml, 'ferry.yml');
  } catch (error) {
    expect(error).toBeInstanceOf(FerryError);
    expect((error as FerryError).exitCode).toBe(2);
    return (error as FerryError).details;
  }
  throw new Error('expected the config to be rejected');
}

const valid = `
app: hello
environments:
  production:
    port: 3000
    strategy: blue-green
    build: npm ci && npm run build
    start: node dist/server.js
    health: { path: /health, interval: 1s, timeout: 2s, healthy_threshold: 2, deadline: 30s }
    watch: 10s
    drain: 30s
    secrets: [API_KEY]
    retain: 5
    notify: { webhook: "https://example.com/hook", slack: "https://hooks.slack.com/services/x" }
  staging:
    port: 3001
    strategy: recreate
    start: node dist/server.js
`;

describe('ferry.yml', () => {
  it('accepts the documented example and fills defaults', () => {
    const config = parseConfig(valid);
    expect(config.environments.production.health.interval).toBe('1s');
    expect(config.environments.staging.strategy).toBe('recreate');
    expect(config.environments.staging.health).toMatchObject({ path: '/health', healthy_threshold: 2 });
    expect(config.environments.staging.retain).toBe(5);
    expect(config.agent.port).toBe(7070);
  });

  it('accepts the bundled example project (what npm start deploys)', () => {
    const config = parseConfig(readFileSync(join(REPO_ROOT, 'example/ferry.yml'), 'utf8'));
    expect(config.environments.production.port).toBe(3000);
    expect(config.environments.staging.port).toBe(3001);
  });

  it('names the path, what was found and what is expected for a wrong type', () => {
    const [problem] = problems(valid.replace('port: 3000', 'port: "three thousand"'));
    expect(problem).toMatch(/^ferry.yml: environments\.production\.port: .*number.*found "three thousand"/);
  });

  it('rejects an unknown key', () => {
    expect(problems(valid.replace('retain: 5', 'retain: 5\n    retian: 3'))).toEqual([expect.stringMatching(/environments\.production: unknown key "retian"/)]);
  });

  it('rejects a bad duration', () => {
    expect(problems(valid.replace('interval: 1s', 'interval: soon'))).toEqual([
      expect.stringMatching(/environments\.production\.health\.interval: expected a duration such as 500ms.*found "soon"/),
    ]);
  });

  it('rejects a health path with a space or a control character (the agent used to crash probing "/he alth"), and one without its leading /', () => {
    for (const path of ['"/he alth"', '"/health\\x01"', 'health', '"/\\u00e9"']) {
      expect(problems(valid.replace('path: /health', `path: ${path}`)), path).toEqual([expect.stringMatching(/environments\.production\.health\.path: expected a path that starts with \/ and holds no spaces or control characters/)]);
    }
    expect(() => parseConfig(valid.replace('path: /health', 'path: /he%20alth?probe=1'), 'ferry.yml')).not.toThrow();
  });

  it('gives every duration a range: watch: 99999999h and interval: 0ms are refused with the range', () => {
    expect(problems(valid.replace('interval: 1s', 'interval: 0ms'))).toEqual([expect.stringMatching(/environments\.production\.health\.interval: expected a duration from 10ms to 10m \(found "0ms"\)/)]);
    expect(problems(valid.replace('watch: 10s', 'watch: 99999999h'))).toEqual([expect.stringMatching(/environments\.production\.watch: expected a duration from 0ms to 24h \(found "99999999h"\)/)]);
    expect(() => parseConfig(valid.replace('watch: 10s', 'watch: 0s').replace('drain: 30s', 'drain: 1h'), 'ferry.yml')).not.toThrow();
  });

  it('rejects two environments on one port', () => {
    expect(problems(valid.replace('port: 3001', 'port: 3000'))).toEqual([expect.stringMatching(/environments\.staging\.port: port 3000 is also used by environment "production"/)]);
    expect(problems(valid.replace('port: 3001', 'port: 3001\n    https: { port: 3000, domains: [shop.example.com], acme: {} }'))).toEqual([expect.stringMatching(/environments\.staging\.https\.port: port 3000 is also used by environment "production"/)]);
  });

  it('rejects an environment without start', () => {
    expect(problems(valid.replace('    start: node dist/server.js\n    health', '    health'))).toEqual([expect.stringMatching(/environments\.production\.start: is required/)]);
  });

  it('needs no start command with the docker runtime, and checks its fields', () => {
    const docker = parseConfig(valid.replace('    start: node dist/server.js\n    health', '    runtime: docker\n    build_args: { BASE_IMAGE: "node:20" }\n    resources: { memory: 512m, cpus: 0.5 }\n    health'));
    expect(docker.environments.production).toMatchObject({ runtime: 'docker', dockerfile: 'Dockerfile', container_port: 3000, resources: { memory: '512m', cpus: 0.5 } });
    expect(problems(valid.replace('    start: node dist/server.js\n    health', '    runtime: docker\n    resources: { memory: lots }\n    health'))).toEqual([
      expect.stringMatching(/environments\.production\.resources\.memory: expected a size such as 512m/),
    ]);
  });

  it('reports every problem at once', () => {
    const found = problems(valid.replace('interval: 1s', 'interval: 1 second').replace('strategy: recreate', 'strategy: yolo').replace('retain: 5', 'retain: 0'));
    expect(found).toHaveLength(3);
    expect(found.join('\n')).toMatch(/strategy/);
    expect(found.join('\n')).toMatch(/retain/);
  });

  it('rejects YAML that does not parse, and a secret name that is not a variable name', () => {
    expect(problems('app: [unclosed')[0]).toMatch(/YAML syntax/);
    expect(problems(valid.replace('[API_KEY]', '["API KEY"]'))[0]).toMatch(/environments\.production\.secrets\.0/);
  });
});

describe('configReader', () => {
  it('parses ferry.yml once while it stays the same, again when it changes, and throws when it no longer loads', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-config-reader-'));
    try {
      writeFileSync(join(dir, 'ferry.yml'), valid);
      const read = configReader(dir);
      const first = read();
      expect(read()).toBe(first);
      writeFileSync(join(dir, 'ferry.yml'), valid.replace('app: hello', 'app: hello2'));
      const second = read();
      expect(second).not.toBe(first);
      expect(second.app).toBe('hello2');
      writeFileSync(join(dir, 'ferry.yml'), 'app: [');
      expect(() => read()).toThrow(FerryError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
