import { z } from 'zod';

/**
 * The provider's cap on an account's unfinished tasks: the upstream allows about 120 queued tasks per
 * account and answers 429 beyond it (docs/provider-api.md). The simulator has one key, so every task it
 * holds is that account's.
 */
export const DEFAULT_MAX_ACTIVE_TASKS = 120;

export const simulatorQuotaSchema = z.strictObject({
  /** Creates are refused while this many tasks are NOT_START, QUEUED or IN_PROGRESS; 0 refuses every create. */
  maxActiveTasks: z.number().int().min(0),
});

export type SimulatorQuotaInput = z.input<typeof simulatorQuotaSchema>;

/** The quota in force and what it is measured against, as `GET /_admin/quota` shows it. */
export interface SimulatorQuota {
  maxActiveTasks: number;
  /** Tasks unfinished by the task clock right now, polled or not. */
  activeTasks: number;
}

export class SimulatorQuotaError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid simulator quota: ${issues.join('; ')}`);
    this.name = 'SimulatorQuotaError';
  }
}

function issuesOf(error: z.ZodError): string[] {
  return error.issues.map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message));
}

/** Validates `{ maxActiveTasks }`; throws SimulatorQuotaError. */
export function simulatorQuota(input: unknown): SimulatorQuotaInput {
  const parsed = simulatorQuotaSchema.safeParse(input);
  if (!parsed.success) throw new SimulatorQuotaError(issuesOf(parsed.error));
  return parsed.data;
}

const maxActiveTasksText = z
  .string()
  .trim()
  .regex(/^\d+$/, 'must be a whole number of tasks, such as 120')
  .transform(Number)
  .pipe(simulatorQuotaSchema.shape.maxActiveTasks);

/** Parses `SIMULATOR_MAX_ACTIVE_TASKS`; empty or blank means the default. Throws SimulatorQuotaError. */
export function parseMaxActiveTasks(text: string | undefined): number {
  if (text === undefined || text.trim() === '') return DEFAULT_MAX_ACTIVE_TASKS;
  const parsed = maxActiveTasksText.safeParse(text);
  if (!parsed.success) throw new SimulatorQuotaError(issuesOf(parsed.error));
  return parsed.data;
}
