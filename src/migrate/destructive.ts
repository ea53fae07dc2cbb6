import type { DatabaseKind } from './types.js';

/**
 * During a blue-green deploy the old and the new release share one database: a migration must not break
 * the release still serving. These rules find the changes that usually do, in a migration's `up` source.
 */
export interface DestructiveFinding {
  migration: string;
  line: number;
  rule: string;
  found: string;
  why: string;
  instead: string;
}

interface Rule {
  id: string;
  kinds: DatabaseKind[];
  pattern: RegExp;
  why: string;
  instead: string;
}

const EXPAND_CONTRACT = 'expand/contract:';

const RULES: Rule[] = [
  {
    id: 'drop-table',
    kinds: ['postgres'],
    pattern: /\bDROP\s+TABLE\b/i,
    why: 'the serving release may still read or write this table',
    instead: `${EXPAND_CONTRACT} release code that no longer uses the table first; drop it in a later migration marked \`export const destructive = '<why it is safe>'\`.`,
  },
  {
    id: 'drop-column',
    kinds: ['postgres'],
    pattern: /\bDROP\s+COLUMN\b/i,
    why: 'the serving release may still select or insert this column',
    instead: `${EXPAND_CONTRACT} stop reading and writing the column in one release, drop it in a later one (mark that migration \`export const destructive\`).`,
  },
  {
    id: 'rename',
    kinds: ['postgres'],
    pattern: /\bRENAME\s+(COLUMN\s+\S+\s+)?TO\b|\bRENAME\s+COLUMN\b/i,
    why: 'the serving release still uses the old name',
    instead: `${EXPAND_CONTRACT} add the new column or table, write to both and backfill, switch reads to the new one, then drop the old one in a later release.`,
  },
  {
    id: 'unique-index',
    kinds: ['postgres'],
    pattern: /\bCREATE\s+UNIQUE\s+INDEX\b|\bADD\s+(CONSTRAINT\s+\S+\s+)?UNIQUE\b/i,
    why: 'the serving release may write duplicates that the new index rejects (its writes start failing), and building it locks the table',
    instead: `${EXPAND_CONTRACT} release code that avoids duplicates first, clean up existing ones, then add the index (CREATE UNIQUE INDEX CONCURRENTLY, in a migration with no transaction).`,
  },
  {
    id: 'not-null',
    kinds: ['postgres'],
    pattern: /\bSET\s+NOT\s+NULL\b|\bADD\s+COLUMN\b[^;'"`]*\bNOT\s+NULL\b(?![^;'"`]*\bDEFAULT\b)/i,
    why: 'the serving release inserts rows without this column, and they will be rejected',
    instead: `${EXPAND_CONTRACT} add the column as nullable (or with a DEFAULT), release code that always writes it, backfill, then add NOT NULL later.`,
  },
  {
    id: 'column-type',
    kinds: ['postgres'],
    pattern: /\bALTER\s+COLUMN\s+\S+\s+(SET\s+DATA\s+)?TYPE\b/i,
    why: 'the serving release reads and writes the old type, and the rewrite locks the table',
    instead: `${EXPAND_CONTRACT} add a column of the new type, write both and backfill, switch reads, drop the old column later.`,
  },
  {
    id: 'drop-collection',
    kinds: ['mongodb'],
    pattern: /\.drop\(\s*\)|\bdropCollection\s*\(|\bdropDatabase\s*\(/,
    why: 'the serving release may still read or write this collection',
    instead: `${EXPAND_CONTRACT} release code that no longer uses the collection first; drop it in a later migration marked \`export const destructive = '<why it is safe>'\`.`,
  },
  {
    id: 'unset-rename-field',
    kinds: ['mongodb'],
    pattern: /\$unset\b|\$rename\b/,
    why: 'the serving release still reads the field under its old name or at all',
    instead: `${EXPAND_CONTRACT} write the new field beside the old one and backfill, release code that reads the new one, then $unset the old field in a later migration.`,
  },
  {
    id: 'rename-collection',
    kinds: ['mongodb'],
    pattern: /\brenameCollection\s*\(|\.rename\s*\(/,
    why: 'the serving release still uses the old collection name',
    instead: `${EXPAND_CONTRACT} copy into the new collection and write to both, switch reads, then drop the old one in a later release.`,
  },
  {
    id: 'unique-index',
    kinds: ['mongodb'],
    pattern: /\bcreateIndex(es)?\s*\([\s\S]{0,300}?\bunique\s*:\s*true/,
    why: 'the serving release may write duplicates that the new index rejects (its writes start failing)',
    instead: `${EXPAND_CONTRACT} release code that avoids duplicates first, remove existing ones, then create the unique index.`,
  },
  {
    id: 'stricter-validator',
    kinds: ['mongodb'],
    pattern: /\bcollMod\b[\s\S]{0,400}?\bvalidator\b|\bvalidationLevel\s*:\s*['"]strict['"]|\bvalidationAction\s*:\s*['"]error['"]/,
    why: 'the serving release may write documents the new validator rejects',
    instead: `${EXPAND_CONTRACT} add the validator with validationAction: 'warn', release code that writes valid documents, fix the existing ones, then switch to 'error'.`,
  },
];

/** Only the `up` direction matters for the serving release; comments are ignored. */
function upSource(source: string): string {
  const withoutComments = source.replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, ' ')).replace(/(^|[^:])\/\/.*$/gm, (m, p: string) => p + ' '.repeat(m.length - p.length));
  const down = withoutComments.search(/\b(export\s+)?(async\s+)?function\s+down\b|\bdown\s*[:=]\s*(async\s*)?\(/);
  return down >= 0 ? withoutComments.slice(0, down) : withoutComments;
}

export function findDestructive(migration: string, source: string, kind: DatabaseKind): DestructiveFinding[] {
  const text = upSource(source);
  const findings: DestructiveFinding[] = [];
  for (const rule of RULES) {
    if (!rule.kinds.includes(kind)) continue;
    const global = new RegExp(rule.pattern.source, rule.pattern.flags.includes('g') ? rule.pattern.flags : `${rule.pattern.flags}g`);
    for (const match of text.matchAll(global)) {
      const line = text.slice(0, match.index).split('\n').length;
      if (findings.some((f) => f.line === line && f.rule === rule.id)) continue;
      findings.push({ migration, line, rule: rule.id, found: match[0].replace(/\s+/g, ' ').slice(0, 60), why: rule.why, instead: rule.instead });
    }
  }
  return findings.sort((a, b) => a.line - b.line);
}

export function describeFinding(finding: DestructiveFinding): string {
  return `${finding.migration}:${finding.line}: ${finding.rule} (${finding.found}): ${finding.why}. Instead, ${finding.instead}`;
}
