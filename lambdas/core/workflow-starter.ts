import { StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { WorkflowInput } from './job.js';

export interface WorkflowStarter {
  /** Starts the generation workflow; the execution name is the jobId, so a job has one execution. */
  start(input: WorkflowInput): Promise<string>;
}

export function createWorkflowStarter(sfn: SFNClient, stateMachineArn: string): WorkflowStarter {
  return {
    async start(input) {
      const answer = await sfn.send(
        new StartExecutionCommand({ stateMachineArn, name: input.jobId, input: JSON.stringify(input) }),
      );
      if (!answer.executionArn) throw new Error(`StartExecution for ${input.jobId} answered no executionArn`);
      return answer.executionArn;
    },
  };
}
