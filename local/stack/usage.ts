import type { CfnTemplate } from './cloud-assembly.js';
import type { DynamoDbUsage } from '../emulators/dynamodb/dynamodb-meter.js';
import type { EventRouter } from '../emulators/eventbridge/event-router.js';
import { handlerFileOfFunction, type HandlerLoader } from './handler-modules.js';
import { HANDLER_METADATA_KEY } from '../../infra/constructs/house-function.js';
import { S3_BILLING_CLASS, type S3Operation } from '../emulators/s3/s3-requests.js';
import type { StateMachineEvent } from '../emulators/stepfunctions/step-functions-engine.js';
import { logicalIdsOfType } from './template-resolver.js';

/**
 * What the pipeline used of each AWS service, in the units AWS bills, counted where the local stack
 * stands in for the service. Everything here is a count since the stack started; subtractUsage turns
 * two snapshots into the usage of the window between them.
 */
export interface Usage {
  stepFunctions: {
    /** Runs started (a StartExecution that finds the same run going starts nothing). */
    executionsStarted: number;
    /**
     * Billed state transitions: every state entered (Task, Choice, Wait, Pass, Succeed, Fail alike)
     * plus every Retry attempt, which Step Functions bills as one more transition of that state.
     */
    transitions: number;
    /** The transitions by state name (retries included); they add up to `transitions`. */
    transitionsByState: Record<string, number>;
    retries: number;
  };
  /** By handler file (runtime/handlers/<file>.ts), every way a function runs: task, rule, schedule, API, direct. */
  lambda: Record<string, LambdaUsage>;
  dynamodb: DynamoDbUsage;
  s3: {
    requests: Partial<Record<S3Operation, number>>;
    /** PUT, COPY, POST, LIST. */
    tier1: number;
    /** GET, HEAD and all other requests. */
    tier2: number;
    /** DELETE and CANCEL (abort multipart). */
    free: number;
  };
  eventBridge: {
    putEventsRequests: number;
    /** Entries PutEvents accepted (our completion events): billed as custom events. */
    customEvents: number;
    /** The same in billing units: each event is billed per 64 KB chunk. */
    customEventUnits: number;
    /** Events AWS services put on the default bus (S3 Object Created…): free. */
    serviceEvents: Record<string, number>;
    /** Rule targets an event was handed to (free in the same account; the Lambda run is billed there). */
    ruleDeliveries: number;
  };
  secretsManager: { getSecretValue: number };
}

export interface LambdaUsage {
  invocations: number;
  /** Invocations that threw (billed all the same). */
  errors: number;
  /** Wall time of the handler, measured here. */
  durationMs: number;
  /** What Lambda bills of it: each invocation rounded up to the millisecond. */
  billedMs: number;
  /** MemorySize as deployed. */
  memoryMb: number;
}

/** Lambda's default MemorySize, for a function whose template leaves it out. */
const DEFAULT_MEMORY_MB = 128;
const EVENT_CHUNK_BYTES = 64 * 1024;

/** MemorySize of each function of the template that has handler metadata, by handler file. */
export function functionMemoryMb(template: CfnTemplate): Record<string, number> {
  const memory: Record<string, number> = {};
  for (const logicalId of logicalIdsOfType(template, 'AWS::Lambda::Function')) {
    // CDK's own helper functions (custom resources) carry no handler metadata and never run locally.
    if (template.Resources[logicalId]!.Metadata?.[HANDLER_METADATA_KEY] === undefined) continue;
    const size = template.Resources[logicalId]!.Properties?.MemorySize;
    memory[handlerFileOfFunction(template, logicalId)] = typeof size === 'number' ? size : DEFAULT_MEMORY_MB;
  }
  return memory;
}

/**
 * The size EventBridge bills a PutEvents entry by: Time (14 bytes), Source, DetailType, Detail and
 * Resources in UTF-8 bytes. The event as delivered carries the same fields.
 */
function entryBytes(event: Parameters<EventRouter['putEvent']>[0]): number {
  const bytes = (text: string) => Buffer.byteLength(text, 'utf8');
  return (
    14 + bytes(event.source) + bytes(event['detail-type']) + bytes(JSON.stringify(event.detail)) + event.resources.reduce((sum, arn) => sum + bytes(arn), 0)
  );
}

/** The counters behind LocalStack.usage(), fed by wrappers around each stand-in. */
export class UsageMeter {
  private executionsStarted = 0;
  private retries = 0;
  private readonly transitionsByState: Record<string, number> = {};
  private readonly lambda: Record<string, LambdaUsage>;
  private readonly apiCalls: Record<string, number> = {};
  private customEvents = 0;
  private customEventUnits = 0;
  private readonly serviceEvents: Record<string, number> = {};
  private ruleDeliveries = 0;

  constructor(memoryMb: Record<string, number>) {
    this.lambda = Object.fromEntries(
      Object.entries(memoryMb).map(([file, memory]) => [file, { invocations: 0, errors: 0, durationMs: 0, billedMs: 0, memoryMb: memory }]),
    );
  }

  /** Times every invocation of every handler the loader hands out. */
  meterLambda(load: HandlerLoader): HandlerLoader {
    return async (handlerFile) => {
      const handler = await load(handlerFile);
      return async (event) => {
        const started = performance.now();
        let failed = false;
        try {
          return await handler(event);
        } catch (error) {
          failed = true;
          throw error;
        } finally {
          const milliseconds = performance.now() - started;
          const usage = (this.lambda[handlerFile] ??= { invocations: 0, errors: 0, durationMs: 0, billedMs: 0, memoryMb: DEFAULT_MEMORY_MB });
          usage.invocations += 1;
          if (failed) usage.errors += 1;
          usage.durationMs += milliseconds;
          usage.billedMs += Math.max(1, Math.ceil(milliseconds));
        }
      };
    };
  }

  stateMachineEvent(event: StateMachineEvent): void {
    if (event.type === 'ExecutionStarted') this.executionsStarted += 1;
    if (event.type === 'StateEntered' || event.type === 'StateRetried') {
      this.transitionsByState[event.state.name] = (this.transitionsByState[event.state.name] ?? 0) + 1;
    }
    if (event.type === 'StateRetried') this.retries += 1;
  }

  /** One call to the local AWS JSON endpoint, by its X-Amz-Target. */
  awsRequest(target: string): void {
    this.apiCalls[target] = (this.apiCalls[target] ?? 0) + 1;
  }

  /** Counts what is put on the buses and how many rule targets each event reached. */
  meterEvents(router: EventRouter): EventRouter {
    return {
      ...router,
      putEvent: (event, busName) => {
        const deliveries = router.putEvent(event, busName);
        this.ruleDeliveries += deliveries;
        // PutEvents refuses `aws.*` sources, so only AWS services put those.
        if (event.source.startsWith('aws.')) {
          this.serviceEvents[event.source] = (this.serviceEvents[event.source] ?? 0) + 1;
        } else {
          this.customEvents += 1;
          this.customEventUnits += Math.ceil(entryBytes(event) / EVENT_CHUNK_BYTES);
        }
        return deliveries;
      },
    };
  }

  snapshot(measured: { dynamodb: DynamoDbUsage; s3Requests: Partial<Record<S3Operation, number>> }): Usage {
    const s3 = { requests: { ...measured.s3Requests }, tier1: 0, tier2: 0, free: 0 };
    for (const [operation, count] of Object.entries(measured.s3Requests) as [S3Operation, number][]) s3[S3_BILLING_CLASS[operation]] += count;
    const transitionsByState = { ...this.transitionsByState };
    return {
      stepFunctions: {
        executionsStarted: this.executionsStarted,
        transitions: Object.values(transitionsByState).reduce((sum, count) => sum + count, 0),
        transitionsByState,
        retries: this.retries,
      },
      lambda: Object.fromEntries(Object.entries(this.lambda).map(([file, usage]) => [file, { ...usage }])),
      dynamodb: measured.dynamodb,
      s3,
      eventBridge: {
        putEventsRequests: this.apiCalls['AWSEvents.PutEvents'] ?? 0,
        customEvents: this.customEvents,
        customEventUnits: this.customEventUnits,
        serviceEvents: { ...this.serviceEvents },
        ruleDeliveries: this.ruleDeliveries,
      },
      secretsManager: { getSecretValue: this.apiCalls['secretsmanager.GetSecretValue'] ?? 0 },
    };
  }
}

/**
 * The usage of the window between two snapshots of the same stack: every count of `later` less the
 * same count of `earlier` (0 where it had none); a function's memory is a setting, not a count.
 */
export function subtractUsage(later: Usage, earlier: Usage): Usage {
  return subtractCounts(later, earlier) as Usage;
}

function subtractCounts(later: unknown, earlier: unknown, key?: string): unknown {
  if (typeof later === 'number') return key === 'memoryMb' ? later : later - (typeof earlier === 'number' ? earlier : 0);
  if (later && typeof later === 'object') {
    const before = (earlier ?? {}) as Record<string, unknown>;
    return Object.fromEntries(Object.entries(later).map(([name, value]) => [name, subtractCounts(value, before[name], name)]));
  }
  return later;
}
