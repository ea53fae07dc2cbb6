/**
 * Where generated workflows install ferry from: a git URL pinned to a commit or tag, or a tarball with its
 * integrity. Never a bare name on the npm registry: ferry does not own one, and whoever published it would
 * run in every user's CI beside their deploy secrets.
 */
export type PinnedFerry = { git: string; ref: string } | { tarball: string; integrity: string };

/** What `workflow.ferry` may hold, as its schema checks it. */
export type FerrySourceSetting = string | { tarball: string; integrity: string };

const GIT_PREFIXES = ['git+https://', 'git+ssh://', 'git+file://', 'github:', 'gitlab:', 'bitbucket:'];
export const INTEGRITY = /^sha(256|384|512)-[A-Za-z0-9+/]+={0,2}$/;

/** Why a `workflow.ferry` value is refused, or undefined when it is a pinned source. */
export function unpinnedReason(setting: FerrySourceSetting): string | undefined {
  if (typeof setting !== 'string') {
    if (/^http:\/\//i.test(setting.tarball)) return `the tarball ${setting.tarball} is fetched over plain http: give an https URL or a path in the repository`;
    return INTEGRITY.test(setting.integrity) ? undefined : `"${setting.integrity}" is not an integrity (sha512-<base64>, as \`npm pack --json\` prints it)`;
  }
  if (/\.(tgz|tar\.gz)$/i.test(setting)) return `a tarball needs its integrity: write { tarball: ${setting}, integrity: sha512-… } (the integrity \`npm pack --json\` printed for it)`;
  if (!GIT_PREFIXES.some((prefix) => setting.startsWith(prefix))) {
    if (/^git:\/\/|^git\+http:\/\//.test(setting)) return `${setting} is fetched without authentication (git:// or http): use git+https:// or git+ssh://`;
    return `"${setting}" is not a git URL or a tarball: a name on the npm registry runs whatever its publisher uploads, in CI beside your deploy secrets (ferry owns no name there)`;
  }
  const ref = setting.split('#')[1];
  if (!ref) return `${setting} names no commit or tag: add #<commit> or #<tag>, so CI installs what you checked and nothing pushed since`;
  if (ref.startsWith('semver:')) return `${setting} names a range of versions, not one commit or tag`;
  return undefined;
}

/** A `workflow.ferry` value the schema accepted, as the workflows install it. */
export function pinnedFerry(setting: FerrySourceSetting): PinnedFerry {
  if (typeof setting !== 'string') return setting;
  const [git, ref] = setting.split('#', 2) as [string, string];
  return { git, ref };
}
