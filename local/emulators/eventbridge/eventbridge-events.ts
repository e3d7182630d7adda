import { randomUUID } from 'node:crypto';
import type { EventBridgeEvent } from 'aws-lambda';
import type { ExecutionRecord } from '../stepfunctions/step-functions-engine.js';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../../stack/template-resolver.js';

/** The envelope EventBridge puts around every event it delivers, whoever sent it. */
export type BusEvent = EventBridgeEvent<string, unknown>;

/** EventBridge writes `time` to the second, without milliseconds (`2021-11-12T00:00:00Z`). */
export function eventBridgeTime(date: Date = new Date()): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

export function busEvent(fields: { source: string; detailType: string; detail: unknown; resources?: string[]; time?: Date }): BusEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': fields.detailType,
    source: fields.source,
    account: LOCAL_ACCOUNT,
    time: eventBridgeTime(fields.time),
    region: LOCAL_REGION,
    resources: fields.resources ?? [],
    detail: fields.detail,
  };
}

/** What Step Functions publishes to the default bus when an execution's status changes (here: when it ends). */
export function executionStatusEvent(execution: ExecutionRecord): BusEvent {
  return busEvent({
    source: 'aws.states',
    detailType: 'Step Functions Execution Status Change',
    resources: [execution.executionArn],
    ...(execution.stopDate ? { time: execution.stopDate } : {}),
    detail: {
      executionArn: execution.executionArn,
      stateMachineArn: execution.stateMachineArn,
      name: execution.name,
      status: execution.status,
      startDate: execution.startDate.getTime(),
      stopDate: execution.stopDate?.getTime() ?? null,
      input: execution.input,
      inputDetails: { included: true },
      output: execution.output ?? null,
      outputDetails: { included: execution.output !== undefined },
      error: execution.error ?? null,
      cause: execution.cause ?? null,
    },
  });
}
