/** ferry.yml is a page of settings: a file over 1 MB is refused before it is parsed (YAML of that size takes tens of seconds). */
export const MAX_CONFIG_BYTES = 1_000_000;

/** YAML aliases a ferry.yml may use: enough for anchors shared between environments, far too few for an alias bomb. */
export const MAX_YAML_ALIASES = 100;
