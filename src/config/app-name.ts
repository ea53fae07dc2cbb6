/** The app name a package.json name gives when ferry.yml names none: what the schema's `app` rule accepts (scope dropped). */
export function appNameFor(packageName: string | undefined): string {
  return (packageName ?? 'app').replace(/^@[^/]+\//, '').toLowerCase().replace(/[^a-z0-9-_]/g, '-').replace(/^[^a-z0-9]+/, '') || 'app';
}
