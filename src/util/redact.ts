/** Replaces every secret value (4 characters or more) with ***. */
export function redact(text: string, secrets: string[]): string {
  let out = text;
  for (const value of secrets) if (value.length >= 4) out = out.split(value).join('***');
  return out;
}
