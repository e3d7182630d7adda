import { describeFailure, type CaughtError, type FailureDescription } from './core/describe-failure.js';

export async function handler(input: { error: CaughtError }): Promise<FailureDescription> {
  return describeFailure(input.error, new Date());
}
