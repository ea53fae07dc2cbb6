// Regenerates schema/ferry.schema.json from the zod schema after each build.
import { mkdirSync, writeFileSync } from 'node:fs';
import { configJsonSchema } from '../dist/config/json-schema.js';

mkdirSync('schema', { recursive: true });
writeFileSync('schema/ferry.schema.json', JSON.stringify(configJsonSchema(), null, 2) + '\n');
