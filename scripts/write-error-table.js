// Regenerates the README's table of error codes from the registry (src/errors/codes.ts) after each build.
import { readFileSync, writeFileSync } from 'node:fs';
import { errorCodeTable } from '../dist/errors/codes.js';

const readme = readFileSync('README.md', 'utf8');
const block = /(<!-- error-codes:start -->\n)[\s\S]*?(<!-- error-codes:end -->)/;
if (!block.test(readme)) throw new Error('README.md has no <!-- error-codes:start --> … <!-- error-codes:end --> block');
const next = readme.replace(block, (_, start, end) => `${start}${errorCodeTable()}\n${end}`);
if (next !== readme) writeFileSync('README.md', next);
