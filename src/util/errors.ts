import { ExitCode } from './exit-codes.js';

/** The one error type ferry throws on purpose: what happened, the facts, and what to do. */
export class FerryError extends Error {
  readonly code: string;
  readonly exitCode: ExitCode;
  readonly hint?: string;
  readonly details: string[];

  constructor(options: { code: string; message: string; exitCode?: ExitCode; hint?: string; details?: string[]; cause?: unknown }) {
    super(options.message, { cause: options.cause });
    this.name = 'FerryError';
    this.code = options.code;
    this.exitCode = options.exitCode ?? ExitCode.needsPerson;
    this.hint = options.hint;
    this.details = options.details ?? [];
  }

  toJSON() {
    return { code: this.code, message: this.message, exitCode: this.exitCode, hint: this.hint, details: this.details };
  }
}

export function usageError(code: string, message: string, hint?: string, details?: string[]): FerryError {
  return new FerryError({ code, message, hint, details, exitCode: ExitCode.usage });
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
