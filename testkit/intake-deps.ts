import type { JobRecord } from '../runtime/domain/job.js';
import type { WorkflowInput } from '../runtime/workflow/workflow-input.js';
import type { IntakeDeps } from '../runtime/intake/job-intake.js';
import { createJobRepository } from '../runtime/aws/job-repository.js';
import { createJobRequestSchema } from '../runtime/domain/request-schema.js';
import type { WorkflowExecutions } from '../runtime/aws/workflow-executions.js';
import type { startJobsTable } from './jobs-table.js';

/** Job ids unique across every deps of a test file, which share one table. */
let jobCounter = 0;

export const TEST_STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine:jobs';

/** Executions as a core test sees them: started ones recorded, each named as Step Functions would name it. */
export function recordingWorkflow(states: Record<string, Awaited<ReturnType<WorkflowExecutions['describe']>>> = {}) {
  const started: { input: WorkflowInput; name: string }[] = [];
  const executionArnFor = (name: string) => `${TEST_STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${name}`;
  const workflow: WorkflowExecutions = {
    executionArnFor,
    start: async (input, name = input.jobId) => {
      started.push({ input, name });
      return executionArnFor(name);
    },
    stop: async () => {},
    describe: async (arn) => states[arn] ?? 'MISSING',
  };
  return { workflow, started };
}

/**
 * The intake's dependencies on a real (local) Jobs table and its admission slots; the request store,
 * the executions and the announcer record what they are given. Overrides replace any of them.
 */
export function intakeTestDeps(
  table: Awaited<ReturnType<typeof startJobsTable>>,
  overrides: Partial<IntakeDeps> & { maxJobsInFlight?: number } = {},
): IntakeDeps & { announced: JobRecord[]; started: { input: WorkflowInput; name: string }[] } {
  const { maxJobsInFlight, ...replaced } = overrides;
  const announced: JobRecord[] = [];
  const { workflow, started } = recordingWorkflow();
  return {
    jobs: createJobRepository(table.documents, table.tableName),
    slots: table.slots(maxJobsInFlight),
    requests: { save: async () => {}, load: async () => Promise.reject(new Error('not used')) },
    workflow,
    announcer: { announce: async (job) => void announced.push(job), announceLateVideo: async (job) => void announced.push(job) },
    schema: createJobRequestSchema(),
    readMedia: async () => Promise.reject(new Error('not used')),
    deadlineSeconds: 1800,
    maxQueueSeconds: 24 * 3600,
    now: () => new Date('2026-11-24T12:00:00Z'),
    newJobId: () => `job-${++jobCounter}`,
    announced,
    started,
    ...replaced,
  };
}
