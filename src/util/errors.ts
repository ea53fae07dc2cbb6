import { ERROR_CODES, type ErrorCode } from '../errors/codes.js';
import type { ExitCode } from '../errors/exit-codes.js';

export type { ErrorCode } from '../errors/codes.js';

/** The one error type ferry throws on purpose: what happened, the facts, and what to do. Exit code and HTTP status come from the registry. */
export class FerryError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: ExitCode;
  readonly httpStatus: number;
  readonly hint?: string;
  readonly details: string[];

  /** `remoteExitCode`: only to carry the agent's exit code across the HTTP hop (its code may be one this CLI does not know). */
  constructor(options: { code: ErrorCode; message: string; hint?: string; details?: string[]; cause?: unknown; remoteExitCode?: ExitCode }) {
    super(options.message, { cause: options.cause });
    this.name = 'FerryError';
    const entry = ERROR_CODES[options.code] ?? ERROR_CODES.AGENT_ERROR;
    this.code = options.code;
    this.exitCode = options.remoteExitCode ?? entry.exitCode;
    this.httpStatus = entry.httpStatus;
    this.hint = options.hint;
    this.details = options.details ?? [];
  }

  toJSON() {
    return { code: this.code, message: this.message, exitCode: this.exitCode, hint: this.hint, details: this.details };
  }
}

export function usageError(code: ErrorCode, message: string, hint?: string, details?: string[]): FerryError {
  return new FerryError({ code, message, hint, details });
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
