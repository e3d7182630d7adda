import {
  ExecutionAbortedError,
  ExecutionError,
  ExecutionTimeoutError,
  StateMachine,
  type RunOptions,
  type StateMachineDefinition,
} from 'aws-local-stepfunctions';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../../stack/template-resolver.js';

export type TaskHandler = (input: unknown) => Promise<unknown>;
/** What aws-local-stepfunctions reports of a run, state by state (its own type is not exported). */
export type StateMachineEvent = ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer Event> ? Event : never;
export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: ExecutionStatus;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  startDate: Date;
  stopDate?: Date;
}

export class ExecutionAlreadyExistsError extends Error {
  override readonly name = 'ExecutionAlreadyExists';
}

export class ExecutionDoesNotExistError extends Error {
  override readonly name = 'ExecutionDoesNotExist';
}

export class StateMachineDoesNotExistError extends Error {
  override readonly name = 'StateMachineDoesNotExist';
}

export interface EngineOptions {
  stateMachineArn: string;
  definition: StateMachineDefinition;
  /** Task state name → what runs it in-process. */
  taskHandlers: Record<string, TaskHandler>;
  /** Multiplies every Wait and Retry interval; 1 keeps the definition's own times. */
  timeScale: number;
  /**
   * Told of every execution that ended (succeeded, failed, timed out, stopped), as Step Functions
   * publishes it to EventBridge; not of the executions close() aborts, which on AWS would go on.
   */
  onExecutionEnded?: (record: ExecutionRecord) => void;
  /** Sees every event of every run (states entered, retries…), e.g. to count transitions. */
  onEvent?: (event: StateMachineEvent) => void;
}

interface Running {
  record: ExecutionRecord;
  abort: () => void;
  settled: Promise<void>;
}

/**
 * Runs executions of one state machine with aws-local-stepfunctions and keeps their records the
 * way Step Functions reports them (StartExecution is idempotent for the same name and input).
 */
/** How long close() lets the tasks of aborted runs finish. */
const TASK_DRAIN_MS = 3000;

export class StepFunctionsEngine {
  private readonly machine: StateMachine;
  private readonly executions = new Map<string, Running>();
  private readonly retryIntervals: Record<string, number[]>;
  /** Set by close(): the executions it aborts are the process ending, not executions that ended. */
  private closing = false;
  /** Task handlers running now, whose run may have been aborted under them. */
  private readonly tasksInFlight = new Set<Promise<unknown>>();

  constructor(private readonly options: EngineOptions) {
    this.machine = new StateMachine(options.definition);
    this.retryIntervals = Object.fromEntries(
      Object.entries(options.definition.States).flatMap(([name, state]) => {
        const retry = (state as { Retry?: { IntervalSeconds?: number }[] }).Retry;
        return retry ? [[name, retry.map((retrier) => (retrier.IntervalSeconds ?? 1) * 1000 * options.timeScale)]] : [];
      }),
    );
  }

  get stateMachineArn(): string {
    return this.options.stateMachineArn;
  }

  startExecution(stateMachineArn: string, name: string, input: string): ExecutionRecord {
    if (stateMachineArn !== this.options.stateMachineArn) throw new StateMachineDoesNotExistError(`no state machine ${stateMachineArn}`);
    const executionArn = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:execution:${stateMachineArn.split(':').pop()}:${name}`;
    const existing = this.executions.get(executionArn);
    if (existing) {
      if (existing.record.status === 'RUNNING' && existing.record.input === input) return existing.record;
      throw new ExecutionAlreadyExistsError(`execution ${executionArn} already exists`);
    }
    const record: ExecutionRecord = {
      executionArn,
      stateMachineArn,
      name,
      status: 'RUNNING',
      input,
      startDate: new Date(),
    };
    const parsedInput = JSON.parse(input) as Parameters<StateMachine['run']>[0];
    const run = this.machine.run(parsedInput, {
      overrides: this.overridesFor(),
      // The context object as Step Functions gives it ($$.Execution.Name, $$.StateMachine.Id…).
      context: {
        Execution: { Id: executionArn, Name: name, Input: parsedInput, StartTime: record.startDate.toISOString() },
        StateMachine: { Id: stateMachineArn, Name: stateMachineArn.split(':').pop() },
      },
    });
    const onEvent = this.options.onEvent;
    // The log ends with the run (success, failure, abort or timeout all close it).
    const logged = onEvent
      ? (async () => {
          for await (const event of run.eventLogs) onEvent(event);
        })()
      : undefined;
    const settled = Promise.all([
      run.result.then(
        (output: unknown) => this.finish(record, 'SUCCEEDED', { output: JSON.stringify(output) }),
        (error: unknown) => this.finish(record, ...describeRunError(error)),
      ),
      logged,
    ]).then(() => undefined);
    this.executions.set(executionArn, { record, abort: run.abort, settled });
    return record;
  }

  listExecutions(): ExecutionRecord[] {
    return [...this.executions.values()].map((running) => running.record);
  }

  describeExecution(executionArn: string): ExecutionRecord {
    const running = this.executions.get(executionArn);
    if (!running) throw new ExecutionDoesNotExistError(`no execution ${executionArn}`);
    return running.record;
  }

  stopExecution(executionArn: string, error?: string, cause?: string): ExecutionRecord {
    const running = this.executions.get(executionArn);
    if (!running) throw new ExecutionDoesNotExistError(`no execution ${executionArn}`);
    if (running.record.status === 'RUNNING') {
      this.finish(running.record, 'ABORTED', { ...(error ? { error } : {}), ...(cause ? { cause } : {}) });
      running.abort();
    }
    return running.record;
  }

  /** Resolves once every execution started so far has ended and its events have been seen. */
  async idle(): Promise<void> {
    await Promise.all([...this.executions.values()].map((running) => running.settled));
    // An aborted run does not wait for the task it was in: give those a moment to finish before the
    // emulators go (a create the provider holds open may take minutes; that one is left).
    await Promise.race([Promise.allSettled([...this.tasksInFlight]), new Promise((resolve) => setTimeout(resolve, TASK_DRAIN_MS).unref())]);
  }

  /** Aborts what still runs and waits until every execution has settled. */
  async close(): Promise<void> {
    this.closing = true;
    for (const { record } of this.executions.values()) {
      if (record.status === 'RUNNING') this.stopExecution(record.executionArn, 'LocalStackStopped');
    }
    await Promise.all([...this.executions.values()].map((running) => running.settled));
    // An aborted run does not wait for the task it was in: give those a moment to finish before the
    // emulators go (a create the provider holds open may take minutes; that one is left).
    await Promise.race([Promise.allSettled([...this.tasksInFlight]), new Promise((resolve) => setTimeout(resolve, TASK_DRAIN_MS).unref())]);
  }

  private finish(record: ExecutionRecord, status: ExecutionStatus, details: Partial<ExecutionRecord>): void {
    if (record.status !== 'RUNNING') return;
    Object.assign(record, details, { status, stopDate: new Date() });
    if (!this.closing) this.options.onExecutionEnded?.(record);
  }

  private overridesFor(): NonNullable<RunOptions['overrides']> {
    // Waits read their seconds from the last task result that carried them (`waitSeconds`), scaled.
    let lastWaitSeconds: number | undefined;
    const taskResourceLocalHandlers = Object.fromEntries(
      Object.entries(this.options.taskHandlers).map(([stateName, handler]) => [
        stateName,
        async (input: unknown) => {
          // The engine goes on retrying a task of an aborted run: once the stack stops, none starts.
          if (this.closing) throw new Error('the local stack is stopping');
          const call = handler(input);
          this.tasksInFlight.add(call);
          try {
            const result = (await call) as never;
            const waitSeconds = (result as { waitSeconds?: unknown } | null)?.waitSeconds;
            if (typeof waitSeconds === 'number') lastWaitSeconds = waitSeconds;
            return result;
          } finally {
            this.tasksInFlight.delete(call);
          }
        },
      ]),
    );
    if (this.options.timeScale === 1) return { taskResourceLocalHandlers };
    const scale = this.options.timeScale;
    const definition = this.options.definition;
    const waitTimeOverrides = new Proxy({} as Record<string, number>, {
      get: (_target, stateName) => {
        const state = definition.States[String(stateName)] as { Type?: string; Seconds?: number } | undefined;
        if (state?.Type !== 'Wait') return undefined;
        const seconds = state.Seconds ?? lastWaitSeconds ?? 0;
        return seconds * 1000 * scale;
      },
    });
    return { taskResourceLocalHandlers, waitTimeOverrides, retryIntervalOverrides: this.retryIntervals };
  }
}

function describeRunError(error: unknown): [ExecutionStatus, Partial<ExecutionRecord>] {
  if (error instanceof ExecutionAbortedError) return ['ABORTED', {}];
  if (error instanceof ExecutionTimeoutError) return ['TIMED_OUT', { error: 'States.Timeout' }];
  const cause = error instanceof ExecutionError ? error.cause : error;
  const name = cause instanceof Error ? cause.name : 'States.Runtime';
  const message = cause instanceof Error ? cause.message : String(cause);
  return ['FAILED', { error: name, cause: message }];
}
