/**
 * What a video costs on AWS, per 1,000 videos, from the usage a run on the local stack measured
 * (LocalStack.usage(), local/stack/usage.ts) and public on-demand prices. Left out: what does not grow with
 * videos (the secret's $0.40 a month, the dashboard and alarms), storage and data transfer, API
 * Gateway, CloudWatch Logs and X-Ray, and every free tier.
 */
import { WAIT_STATE, WORKFLOW_TASK_HANDLERS } from '../infra/constructs/generation-workflow.js';
import type { Usage } from '../local/stack/usage.js';
import { formatTable } from './table.js';

/**
 * On-demand prices, us-east-1 (US East, N. Virginia), taken 2026-12-04 from the pages named. "On the
 * page" = read on AWS's own pricing page; otherwise AWS's page could not be read here and the figure
 * is confirmed only by the third-party summaries named, so check it against the page before relying on it.
 */
export const PRICES_USD = {
  /** https://aws.amazon.com/step-functions/pricing/ (on the page): Standard, $0.025 per 1,000 state transitions, each retry billed as one more. */
  stepFunctionsTransition: 0.025 / 1000,
  /**
   * https://aws.amazon.com/lambda/pricing/: $0.20 per 1M requests; Arm $0.0000133334 per GB-s (the
   * first 7.5 billion GB-s a month). The page confirms what is billed (a request per invocation,
   * duration rounded up to 1 ms, init code included); the figures only cloudchipr.com ("AWS Lambda
   * Pricing Breakdown", 2024) and a cost note of the lambda_local_runner repository on git.mcrn.ar.
   */
  lambdaRequest: 0.2 / 1_000_000,
  lambdaArmGbSecond: 0.0000133334,
  /**
   * https://aws.amazon.com/dynamodb/pricing/on-demand/: $0.125 per million read request units, $0.625
   * per million write request units, after the November 2024 cut of on-demand throughput by half.
   * Confirmed only by airbyte.com ("Amazon DynamoDB Pricing", July 2025).
   */
  dynamoDbReadUnit: 0.125 / 1_000_000,
  dynamoDbWriteUnit: 0.625 / 1_000_000,
  /**
   * https://aws.amazon.com/s3/pricing/: S3 Standard, $0.005 per 1,000 PUT, COPY, POST, LIST requests,
   * $0.0004 per 1,000 GET, SELECT and all other requests; DELETE and CANCEL free. Confirmed only by
   * c3x.dev ("S3 request fees explained") and awsi.click.
   */
  s3Tier1Request: 0.005 / 1000,
  s3Tier2Request: 0.0004 / 1000,
  /**
   * https://aws.amazon.com/eventbridge/pricing/: custom events $1.00 per million, each 64 KB chunk of an
   * event billed as one; events of AWS services on the default bus free. Confirmed only by cloudburn.io
   * ("Amazon EventBridge Pricing", March 2026) and blog.awsfundamentals.com.
   */
  eventBridgeCustomEvent: 1 / 1_000_000,
  /** https://aws.amazon.com/secrets-manager/pricing/: $0.05 per 10,000 API calls. Confirmed only by hivebook.wiki. */
  secretsManagerApiCall: 0.05 / 10_000,
} as const;

export interface CostLine {
  service: string;
  item: string;
  /** Billed units per video. */
  perVideo: number;
  unit: string;
  usdPer1000Videos: number;
}

/** Each service's billed units in `usage`, per video, priced per 1,000 videos. */
export function costPer1000Videos(usage: Usage, videos: number): CostLine[] {
  if (!(videos > 0)) throw new Error(`a cost per video needs at least one video, got ${videos}`);
  const line = (service: string, item: string, units: number, unit: string, usdPerUnit: number): CostLine => ({
    service,
    item,
    perVideo: units / videos,
    unit,
    usdPer1000Videos: (units / videos) * 1000 * usdPerUnit,
  });
  const lambda = Object.entries(usage.lambda)
    .filter(([, used]) => used.invocations > 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .flatMap(([file, used]) => [
      line('Lambda', `${file} requests`, used.invocations, 'requests', PRICES_USD.lambdaRequest),
      line('Lambda', `${file} compute (${used.memoryMb} MB)`, (used.billedMs / 1000) * (used.memoryMb / 1024), 'GB-s', PRICES_USD.lambdaArmGbSecond),
    ]);
  const { dynamodb, s3, eventBridge } = usage;
  const serviceEvents = Object.values(eventBridge.serviceEvents).reduce((sum, count) => sum + count, 0);
  return [
    line('Step Functions', 'state transitions', usage.stepFunctions.transitions, 'transitions', PRICES_USD.stepFunctionsTransition),
    ...lambda,
    line('DynamoDB', 'read request units', dynamodb.readUnits, 'RRU', PRICES_USD.dynamoDbReadUnit),
    line('DynamoDB', 'write request units, table', dynamodb.writeUnits - dynamodb.indexWriteUnits, 'WRU', PRICES_USD.dynamoDbWriteUnit),
    line('DynamoDB', 'write request units, GSIs', dynamodb.indexWriteUnits, 'WRU', PRICES_USD.dynamoDbWriteUnit),
    line('S3', 'PUT, COPY, POST, LIST requests', s3.tier1, 'requests', PRICES_USD.s3Tier1Request),
    line('S3', 'GET, HEAD and other requests', s3.tier2, 'requests', PRICES_USD.s3Tier2Request),
    line('EventBridge', 'custom events (64 KB units)', eventBridge.customEventUnits, 'events', PRICES_USD.eventBridgeCustomEvent),
    line('EventBridge', 'AWS service events (free)', serviceEvents, 'events', 0),
    line('Secrets Manager', 'GetSecretValue calls', usage.secretsManager.getSecretValue, 'calls', PRICES_USD.secretsManagerApiCall),
  ];
}

export const totalUsd = (lines: readonly CostLine[]) => lines.reduce((sum, line) => sum + line.usdPer1000Videos, 0);

/** The Step Functions states one poll goes through (infra/constructs/generation-workflow.ts): the wait, the poll, the choice on its answer. */
export const POLL_LOOP_STATES = [WAIT_STATE, 'PollTask', 'IsVideoReady'] as const;
const POLL_FUNCTION = WORKFLOW_TASK_HANDLERS.PollTask;

/**
 * The baseline: the same run's usage had a fixed poller (15 s) made `polls.fixed` polls where our
 * policy made `polls.ours`. A poll costs what the run's polls cost on average: the poll loop's
 * transitions (retries included) and PollTask's invocations and billed ms, each divided by our
 * polls, times the fixed poller's. The rest stays as measured: the submit, the store and the
 * announcement do not depend on the poller. The RecordProgress transitions and writes, one per status
 * step a poller sees, stay as measured too: a 15 s poller sees a few more steps (bench/polling.ts reports
 * RecordProgress/job per poller), so this baseline errs in the fixed poller's favour, by under one
 * transition and one write a job.
 */
export function fixedPollerBaseline(usage: Usage, polls: { ours: number; fixed: number }): Usage {
  if (!(polls.ours > 0)) throw new Error('the run made no polls to scale');
  const factor = polls.fixed / polls.ours;
  const transitionsByState = { ...usage.stepFunctions.transitionsByState };
  for (const state of POLL_LOOP_STATES) {
    if (transitionsByState[state] !== undefined) transitionsByState[state] *= factor;
  }
  const pollTask = usage.lambda[POLL_FUNCTION];
  return {
    ...usage,
    stepFunctions: {
      ...usage.stepFunctions,
      transitionsByState,
      transitions: Object.values(transitionsByState).reduce((sum, count) => sum + count, 0),
    },
    lambda: {
      ...usage.lambda,
      ...(pollTask
        ? {
            [POLL_FUNCTION]: {
              ...pollTask,
              invocations: pollTask.invocations * factor,
              errors: pollTask.errors * factor,
              durationMs: pollTask.durationMs * factor,
              billedMs: pollTask.billedMs * factor,
            },
          }
        : {}),
    },
  };
}

const usd = (value: number) => `$${value.toFixed(4)}`;

/** A table (formatTable): one line per billed item, a total, and the baseline beside it when given. */
export function formatCostTable(ours: readonly CostLine[], baseline?: { label: string; lines: readonly CostLine[] }): string {
  const other = new Map(baseline?.lines.map((line) => [`${line.service}\u0000${line.item}`, line]));
  const headers = ['service', 'item', 'per video', 'unit', '$ / 1,000 videos', ...(baseline ? [`${baseline.label}: per video`, '$ / 1,000 videos'] : [])];
  const rows = ours.map((line) => {
    const theirs = other.get(`${line.service}\u0000${line.item}`);
    return [
      line.service,
      line.item,
      line.perVideo,
      line.unit,
      usd(line.usdPer1000Videos),
      ...(baseline ? [theirs?.perVideo, theirs ? usd(theirs.usdPer1000Videos) : ''] : []),
    ];
  });
  rows.push(['total', '', undefined, '', usd(totalUsd(ours)), ...(baseline ? [undefined, usd(totalUsd(baseline.lines))] : [])]);
  return formatTable(headers, rows);
}
