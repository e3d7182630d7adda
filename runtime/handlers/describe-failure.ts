import { describeFailure, type CaughtError, type FailureDescription } from '../workflow/describe-failure.js';

export async function handler(input: { error: CaughtError }): Promise<FailureDescription> {
  return describeFailure(input.error, new Date());
}
