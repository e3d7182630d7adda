import { Logger } from '@aws-lambda-powertools/logger';
import { TASK_ENDED_DETAIL_TYPE } from '../../contracts/events.js';
import { HANDLER } from '../../contracts/handlers.js';
import { SERVICE_NAMES } from '../../contracts/telemetry.js';
import { intakeFromEnv } from '../compose/intake-deps.js';
import { executionEndedOf, onExecutionEnded, type ExecutionEndedReport } from '../admission/execution-ended.js';
import { onTaskEnded, taskEndedOf, type TaskEndedReport } from '../admission/task-ended.js';
import type { DispatchReport } from '../admission/dispatch.js';

const logger = new Logger({ serviceName: SERVICE_NAMES[HANDLER.admission] });
const { deps } = intakeFromEnv(HANDLER.admission);

/**
 * Whatever frees a slot, from EventBridge: a provider task that ended (the workflow's FreeSlot
 * state) or an execution that ended (Step Functions Execution Status Change). Either gives the slot
 * back and starts the next jobs.
 */
export async function handler(event: unknown): Promise<ExecutionEndedReport | TaskEndedReport> {
  if ((event as { 'detail-type'?: unknown } | null)?.['detail-type'] === TASK_ENDED_DETAIL_TYPE) {
    const ended = taskEndedOf(event);
    const report = await onTaskEnded(ended, deps);
    logger.info('provider task ended', { ...ended, released: report.released, started: report.dispatch.started });
    logStartFailures(report.dispatch);
    return report;
  }
  const ended = executionEndedOf(event);
  const report = await onExecutionEnded(ended, deps);
  logger.info('execution ended', { ...ended, returnedToLine: report.returnedToLine, released: report.released, started: report.dispatch.started });
  logStartFailures(report.dispatch);
  return report;
}

function logStartFailures(dispatch: DispatchReport): void {
  if (dispatch.startFailed.length > 0) logger.error('jobs could not be started; they wait at the front of the line', { startFailed: dispatch.startFailed });
}
