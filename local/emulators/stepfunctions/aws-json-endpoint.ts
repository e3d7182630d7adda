import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { busEvent, type BusEvent } from '../eventbridge/eventbridge-events.js';
import type { ExecutionRecord, StepFunctionsEngine } from './step-functions-engine.js';
import { eventBusNameOf } from '../../stack/template-resolver.js';

/**
 * A loopback endpoint speaking the AWS JSON protocol for the services the emulators lack:
 * Step Functions (Start/Describe/StopExecution, backed by the local engine), Secrets Manager
 * (GetSecretValue) and EventBridge (PutEvents). The handlers use the real SDK clients; only
 * AWS_ENDPOINT_URL_* points here.
 */

export interface EventBusesOptions {
  /** The buses that exist: `default` and those of the template. An entry for another bus fails, as on AWS. */
  busNames: Iterable<string>;
  /** Called for each accepted entry, before PutEvents answers, with the event as EventBridge delivers it. */
  publish(event: BusEvent, busName: string): void;
}

export interface AwsJsonEndpointOptions {
  engine: StepFunctionsEngine;
  /** Secret id (name or ARN) → value. */
  secrets: Record<string, string>;
  /** Without it PutEvents is an unknown operation. */
  eventBuses?: EventBusesOptions;
  /** Sees the X-Amz-Target of every request, answered or refused, e.g. to count billed API calls. */
  onRequest?: (target: string) => void;
  /** Sees every request with a readable body before it is answered: its target, its body, and who signed it (the Authorization header). */
  onCall?: (target: string, body: Body, authorization: string | undefined) => void;
  host?: string;
  port?: number;
}

export interface AwsJsonEndpoint {
  url: string;
  close(): Promise<void>;
}

class ServiceError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly statusCode = 400,
  ) {
    super(message);
  }
}

const epochSeconds = (date: Date | undefined) => (date ? date.getTime() / 1000 : undefined);

function describeExecution(record: ExecutionRecord) {
  return {
    executionArn: record.executionArn,
    stateMachineArn: record.stateMachineArn,
    name: record.name,
    status: record.status,
    startDate: epochSeconds(record.startDate),
    stopDate: epochSeconds(record.stopDate),
    input: record.input,
    output: record.output,
    error: record.error,
    cause: record.cause,
  };
}

type Body = Record<string, unknown>;
export type Operation = (body: Body) => unknown;

/** PutEvents takes at most 10 entries; each one succeeds or fails on its own. */
const MAX_PUT_EVENTS_ENTRIES = 10;

interface PutEventsEntry {
  Source?: unknown;
  DetailType?: unknown;
  Detail?: unknown;
  EventBusName?: unknown;
  Resources?: unknown;
  Time?: unknown;
}

type EntryResult = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

function putEventsEntry(entry: PutEventsEntry, buses: EventBusesOptions, busNames: ReadonlySet<string>): EntryResult {
  const invalid = (field: string, reason: string) => ({ ErrorCode: 'InvalidArgument', ErrorMessage: `Parameter ${field} is not valid. Reason: ${reason}` });
  for (const field of ['Source', 'DetailType', 'Detail'] as const) {
    if (typeof entry[field] !== 'string' || entry[field] === '') return invalid(field, `${field} is a required argument.`);
  }
  let detail: unknown;
  try {
    detail = JSON.parse(entry.Detail as string);
  } catch {
    detail = undefined;
  }
  if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
  if (entry.Resources !== undefined && !(Array.isArray(entry.Resources) && entry.Resources.every((item) => typeof item === 'string'))) {
    return invalid('Resources', 'Resources is a list of ARNs.');
  }
  const busName = eventBusNameOf(entry.EventBusName);
  if (!busNames.has(busName)) return { ErrorCode: 'ResourceNotFoundException', ErrorMessage: `Event bus ${busName} does not exist.` };
  const event = busEvent({
    source: entry.Source as string,
    detailType: entry.DetailType as string,
    detail,
    resources: (entry.Resources as string[] | undefined) ?? [],
    // The SDK sends timestamps as epoch seconds in this protocol.
    ...(typeof entry.Time === 'number' ? { time: new Date(entry.Time * 1000) } : {}),
  });
  buses.publish(event, busName);
  return { EventId: event.id };
}

function operations(options: AwsJsonEndpointOptions): Record<string, Operation> {
  const { engine, secrets } = options;
  const required = (body: Body, field: string): string => {
    const value = body[field];
    if (typeof value !== 'string' || !value) throw new ServiceError('ValidationException', `${field} is required`);
    return value;
  };
  const optional = (body: Body, field: string): string | undefined => (typeof body[field] === 'string' ? (body[field] as string) : undefined);
  const guarded = <T>(work: () => T): T => {
    try {
      return work();
    } catch (error) {
      if (error instanceof ServiceError) throw error;
      throw new ServiceError((error as Error).name, (error as Error).message);
    }
  };
  return {
    'AWSStepFunctions.StartExecution': (body) =>
      guarded(() => {
        const record = engine.startExecution(required(body, 'stateMachineArn'), required(body, 'name'), optional(body, 'input') ?? '{}');
        return { executionArn: record.executionArn, startDate: epochSeconds(record.startDate) };
      }),
    'AWSStepFunctions.DescribeExecution': (body) => guarded(() => describeExecution(engine.describeExecution(required(body, 'executionArn')))),
    'AWSStepFunctions.StopExecution': (body) =>
      guarded(() => {
        const record = engine.stopExecution(required(body, 'executionArn'), optional(body, 'error'), optional(body, 'cause'));
        return { stopDate: epochSeconds(record.stopDate ?? new Date()) };
      }),
    'secretsmanager.GetSecretValue': (body) => {
      const secretId = required(body, 'SecretId');
      const value = secrets[secretId];
      if (value === undefined) throw new ServiceError('ResourceNotFoundException', `Secrets Manager can't find the specified secret: ${secretId}`);
      return { ARN: secretId, Name: secretId, SecretString: value, VersionId: 'local', CreatedDate: 0 };
    },
    ...(options.eventBuses ? { 'AWSEvents.PutEvents': putEvents(options.eventBuses) } : {}),
  };
}

/** PutEvents as the endpoint answers it: each entry accepted or refused on its own (FailedEntryCount counts the refused). */
export function putEvents(buses: EventBusesOptions): Operation {
  const busNames = new Set(buses.busNames);
  return (body) => {
    const entries = body.Entries;
    if (!Array.isArray(entries) || entries.length === 0 || entries.length > MAX_PUT_EVENTS_ENTRIES) {
      throw new ServiceError('ValidationException', `Entries must hold 1 to ${MAX_PUT_EVENTS_ENTRIES} entries`);
    }
    const results = entries.map((entry: PutEventsEntry) => putEventsEntry(entry, buses, busNames));
    return { FailedEntryCount: results.filter((result) => 'ErrorCode' in result).length, Entries: results };
  };
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startAwsJsonEndpoint(options: AwsJsonEndpointOptions): Promise<AwsJsonEndpoint> {
  const table = operations(options);
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    void (async () => {
      const target = String(request.headers['x-amz-target'] ?? '');
      options.onRequest?.(target);
      // Step Functions speaks AWS JSON 1.0; Secrets Manager and EventBridge speak 1.1.
      const contentType = target.startsWith('AWSStepFunctions.') ? 'application/x-amz-json-1.0' : 'application/x-amz-json-1.1';
      const send = (statusCode: number, payload: unknown) => {
        response.writeHead(statusCode, { 'content-type': contentType });
        response.end(JSON.stringify(payload));
      };
      try {
        const operation = table[target];
        if (!operation) throw new ServiceError('UnknownOperationException', `the local endpoint does not implement ${target}`);
        const raw = await readBody(request);
        const body = raw ? (JSON.parse(raw) as Body) : {};
        options.onCall?.(target, body, request.headers.authorization);
        send(200, operation(body) ?? {});
      } catch (error) {
        const serviceError = error instanceof ServiceError ? error : new ServiceError('InternalFailure', String(error), 500);
        send(serviceError.statusCode, { __type: serviceError.type, message: serviceError.message });
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
