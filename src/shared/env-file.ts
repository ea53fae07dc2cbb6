import { readFileSync } from 'node:fs';

/** Reads KEY=VALUE lines as ferry writes them (values JSON-quoted); missing file means no variables. */
export function readEnvFile(path: string | undefined): Record<string, string> {
  if (!path) return {};
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return {};
  }
  const vars: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!match) continue;
    const raw = match[2];
    vars[match[1]] = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
  }
  return vars;
}

export function formatEnvFile(vars: Record<string, string>): string {
  return Object.entries(vars)
    .map(([key, value]) => `${key}=${JSON.stringify(value)}`)
    .join('\n') + '\n';
}
