import { DescribeExecutionCommand, ExecutionDoesNotExist, StartExecutionCommand, StopExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { WorkflowInput } from '../workflow/workflow-input.js';

export type ExecutionState = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE' | 'MISSING';

/** The generation workflow's executions, as the intake, the cancel route and the sweeper see them. */
export interface WorkflowExecutions {
  /** Starts an execution named `name` (the jobId, or a resume name); the same name and input is idempotent. */
  start(input: WorkflowInput, name?: string): Promise<string>;
  /** Stops a running execution; one that ended or never existed is left as it is. */
  stop(executionArn: string, cause: string): Promise<void>;
  describe(executionArn: string): Promise<ExecutionState>;
  /** The ARN an execution of this state machine gets from its name. */
  executionArnFor(name: string): string;
}

export function createWorkflowExecutions(sfn: SFNClient, stateMachineArn: string): WorkflowExecutions {
  return {
    executionArnFor: (name) => `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`,
    async start(input, name = input.jobId) {
      const answer = await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
      if (!answer.executionArn) throw new Error(`StartExecution for ${name} answered no executionArn`);
      return answer.executionArn;
    },
    async stop(executionArn, cause) {
      try {
        await sfn.send(new StopExecutionCommand({ executionArn, error: 'JOB_CANCELLED', cause }));
      } catch (error) {
        if (!(error instanceof ExecutionDoesNotExist)) throw error;
      }
    },
    async describe(executionArn) {
      try {
        const answer = await sfn.send(new DescribeExecutionCommand({ executionArn }));
        return (answer.status ?? 'MISSING') as ExecutionState;
      } catch (error) {
        if (error instanceof ExecutionDoesNotExist) return 'MISSING';
        throw error;
      }
    },
  };
}
