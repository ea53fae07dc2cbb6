import { z } from 'zod';

/**
 * zod, as every ferry module imports it. Jitless: zod otherwise compiles each object schema into a function
 * with `new Function` on its first parse, which pays back only over thousands of parses. ferry parses its
 * config and an API body or control message a few times per process, and a first parse of ferry.yml took
 * 90–240 ms that way against 18–34 ms without (every CLI call and agent start parses ferry.yml).
 */
z.config({ jitless: true });

export { z };
export type { ZodType } from 'zod';
