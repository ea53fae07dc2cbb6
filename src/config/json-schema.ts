import { z } from '../util/zod.js';
import { configSchema } from './schema.js';

/** The JSON Schema for editors, generated from the same zod schema that validates ferry.yml. */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }),
    title: 'ferry.yml',
    description: 'ferry project configuration: https://github.com/ferry (see README, Configuration)',
  };
}
