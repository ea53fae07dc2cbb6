/** Stable exit codes of every ferry command (README: "Exit codes"). */
export const ExitCode = {
  succeeded: 0,
  /** Failed, but the previous release is still serving (halted or rolled back). */
  failedPreviousServing: 1,
  usage: 2,
  /** Failed and needs a person. */
  needsPerson: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
