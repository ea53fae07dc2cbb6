import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configJsonSchema } from './json-schema.js';
import { REPO_ROOT } from '../../test/support/project.js';

describe('schema/ferry.schema.json', () => {
  it('is what the zod schema generates (npm run build writes it)', () => {
    const committed = JSON.parse(readFileSync(join(REPO_ROOT, 'schema/ferry.schema.json'), 'utf8'));
    expect(committed).toEqual(configJsonSchema());
  });

  it('describes environments, durations and defaults for editors', () => {
    const schema = configJsonSchema() as any;
    const env = schema.properties.environments.additionalProperties;
    expect(env.required).toEqual(['port']);
    expect(env.properties.runtime.enum).toEqual(['process', 'docker', 'swarm']);
    expect(env.properties.strategy.enum).toEqual(['blue-green', 'recreate']);
    expect(env.properties.health.properties.interval.default).toBe('1s');
    expect(env.additionalProperties).toBe(false);
  });
});
