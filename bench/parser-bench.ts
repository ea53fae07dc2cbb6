// npm run bench:parser [-- --cases N --seed S]: ferry's request parser against Node's own (llhttp), on generated
// valid and hostile requests. Prints how many agree, and every case where they do not: ferry refusing what Node
// accepts (stricter: each reason is explained in docs/request-parser.md), ferry accepting what Node refuses, or
// both accepting with different framing (there must be none of the last two).
import { differential } from '../src/router/request-fuzz.js';

const arg = (name: string, fallback: number) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : fallback);

async function main(): Promise<void> {
  const cases = arg('--cases', 100_000);
  const seed = arg('--seed', 1);
  const started = performance.now();
  const { tally, stricter, bad } = await differential(cases, seed);
  console.log(`${cases} generated requests (seed ${seed}) through ferry's parser and Node's llhttp, in ${((performance.now() - started) / 1000).toFixed(1)}s:`);
  for (const [what, n] of Object.entries(tally)) console.log(`  ${what.padEnd(16)} ${n}`);
  console.log('\nferry refuses, Node accepts (stricter; see docs/request-parser.md):');
  for (const [reason, entry] of stricter) console.log(`  ${String(entry.count).padStart(6)}  ${reason}\n          e.g. ${JSON.stringify(entry.example.slice(0, 90))}`);
  if (bad.length) {
    console.log('\nDISAGREEMENTS (must be none):');
    for (const b of bad) console.log(`  ${b.comparison}: ${JSON.stringify(b.request.slice(0, 120))}\n    ferry ${JSON.stringify(b.ferry).slice(0, 160)}\n    node  ${JSON.stringify(b.node).slice(0, 160)}`);
  }
  process.exitCode = tally['ferry looser'] + tally['framing differs'] === 0 ? 0 : 1;
}

void main();
