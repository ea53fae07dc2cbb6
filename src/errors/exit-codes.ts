/** Stable exit codes of every ferry command (README: "Exit codes"). */
export const ExitCode = {
  succeeded: 0,
  /** Failed, but the previous release is still serving (halted or rolled back). */
  failedPreviousServing: 1,
  usage: 2,
  /** Failed and needs a person. */
  needsPerson: 3,
  /** `ferry migrate status`: migrations are waiting to run. */
  migrationsPending: 10,
  /** `ferry migrate status|up`: an applied migration's file was modified or deleted, or a new one sorts before applied ones. */
  migrationsDrift: 11,
  /** `ferry migrate status`: a failed or interrupted migration blocks further runs until `ferry migrate resolve`. */
  migrationsBlocked: 12,
  /** `ferry scan`, `ferry ci`: nothing failed, but something was not checked (a scanner that could not scan, a pipeline that tested nothing). */
  nothingChecked: 13,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
