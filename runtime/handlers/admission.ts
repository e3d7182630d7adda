import { Logger } from '@aws-lambda-powertools/logger';
import { HANDLER } from '../../contracts/handlers.js';
import { SERVICE_NAMES } from '../../contracts/telemetry.js';
import { intakeFromEnv } from '../compose/intake-deps.js';
import { executionEndedOf, onExecutionEnded, type ExecutionEndedReport } from '../admission/execution-ended.js';

const logger = new Logger({ serviceName: SERVICE_NAMES[HANDLER.admission] });
const { deps } = intakeFromEnv(HANDLER.admission);

/** Every end of a workflow execution (EventBridge: Step Functions Execution Status Change): free its slot, start the next jobs. */
export async function handler(event: unknown): Promise<ExecutionEndedReport> {
  const ended = executionEndedOf(event);
  const report = await onExecutionEnded(ended, deps);
  logger.info('execution ended', { ...ended, returnedToLine: report.returnedToLine, released: report.released, started: report.dispatch.started });
  if (report.dispatch.startFailed.length > 0) logger.error('jobs could not be started; they wait at the front of the line', { startFailed: report.dispatch.startFailed });
  return report;
}
