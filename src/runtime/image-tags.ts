import { createHash } from 'node:crypto';

/** The build settings an image was made with, as a short key: equal keys and equal trees make the same image. */
export function imageBuildKey(dockerfile: string, buildArgs: Record<string, string>): string {
  const args = Object.entries(buildArgs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256').update(JSON.stringify({ dockerfile, args })).digest('hex').slice(0, 16);
}

/**
 * The tag `ferry ci` gives the image it built from a clean working tree: the git tree and the build key. A deploy
 * of a commit with that tree and the same build settings runs that image instead of building another. (A tag, not
 * labels: the legacy builder makes a layer per label, and on vfs each layer copies the image.)
 */
export function pipelineImageTag(app: string, tree: string, buildKey: string): string {
  return `${app}:src-${tree}-${buildKey}`;
}
