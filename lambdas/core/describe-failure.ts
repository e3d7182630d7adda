/**
 * Turns a Catch's `{Error, Cause}` into the job's error. A Lambda failure's Cause is a JSON string
 * `{"errorType","errorMessage","trace"}`; a user wants the message, not the trace.
 */

export interface CaughtError {
  Error?: string;
  Cause?: string;
}

export interface FailureDescription {
  status: 'FAILED' | 'TIMED_OUT';
  code: string;
  message: string;
  failedAt: string;
}

const TIMEOUT_CODES = new Set(['DEADLINE_EXCEEDED']);

function causeMessage(cause: string | undefined): string {
  if (!cause) return 'no details were given';
  try {
    const parsed: unknown = JSON.parse(cause);
    if (parsed && typeof parsed === 'object' && 'errorMessage' in parsed && typeof parsed.errorMessage === 'string') {
      return parsed.errorMessage;
    }
  } catch {
    // A plain-text cause is already the message.
  }
  return cause;
}

export function describeFailure(error: CaughtError, now: Date): FailureDescription {
  const code = error.Error || 'UNKNOWN_ERROR';
  return {
    status: TIMEOUT_CODES.has(code) ? 'TIMED_OUT' : 'FAILED',
    code,
    message: causeMessage(error.Cause).slice(0, 2000),
    failedAt: now.toISOString(),
  };
}
