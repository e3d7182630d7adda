/**
 * Every way the CLI can fail, each with its exit code: main.ts prints the message and exits with it.
 * The codes are part of the CLI's contract (README, "## CLI").
 */

export const EXIT = {
  OK: 0,
  /** The job ended FAILED, TIMED_OUT or CANCELLED while we waited for it (`generate --wait`). */
  JOB_ENDED_UNSUCCESSFULLY: 1,
  /** Bad usage, or the API refused the request (4xx). */
  USAGE_OR_REFUSED: 2,
  /** The API (or the local stack) cannot be reached. */
  UNREACHABLE: 3,
  /** Anything else: a 5xx, a corrupt download, a bug. */
  UNEXPECTED: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Wrong arguments, a missing file, no credentials to sign with: the user can fix it and run again. */
export class UsageError extends CliError {
  override readonly name = 'UsageError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, EXIT.USAGE_OR_REFUSED, options);
  }
}

/** Nothing answered: no stack.json, a refused connection, a DNS failure, a timeout. */
export class UnreachableError extends CliError {
  override readonly name = 'UnreachableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, EXIT.UNREACHABLE, options);
  }
}

export interface ApiIssue {
  path: string;
  message: string;
}

/** The API answered with an error: 4xx → exit 2, 5xx → exit 4. */
export class ApiError extends CliError {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    readonly apiMessage: string,
    readonly issues: ApiIssue[],
  ) {
    super(
      issues.length > 0
        ? [`The API refused the request (HTTP ${status}${code ? ` ${code}` : ''}):`, ...issues.map((issue) => `  ${issue.path}: ${issue.message}`)].join('\n')
        : `${apiMessage} (HTTP ${status}${code ? ` ${code}` : ''})`,
      status >= 400 && status < 500 ? EXIT.USAGE_OR_REFUSED : EXIT.UNEXPECTED,
    );
  }
}
