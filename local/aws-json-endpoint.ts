import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ExecutionRecord, StepFunctionsEngine } from './step-functions-engine.js';

/**
 * A loopback endpoint speaking the AWS JSON protocol for the two services the emulators lack:
 * Step Functions (Start/Describe/StopExecution, backed by the local engine) and Secrets Manager
 * (GetSecretValue). The handlers use the real SDK clients; only AWS_ENDPOINT_URL_* points here.
 */

export interface AwsJsonEndpointOptions {
  engine: StepFunctionsEngine;
  /** Secret id (name or ARN) → value. */
  secrets: Record<string, string>;
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

type Operation = (body: Record<string, string | undefined>) => unknown;

function operations(options: AwsJsonEndpointOptions): Record<string, Operation> {
  const { engine, secrets } = options;
  const required = (body: Record<string, string | undefined>, field: string): string => {
    const value = body[field];
    if (!value) throw new ServiceError('ValidationException', `${field} is required`);
    return value;
  };
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
        const record = engine.startExecution(
          required(body, 'stateMachineArn'),
          required(body, 'name'),
          body.input ?? '{}',
        );
        return { executionArn: record.executionArn, startDate: epochSeconds(record.startDate) };
      }),
    'AWSStepFunctions.DescribeExecution': (body) =>
      guarded(() => describeExecution(engine.describeExecution(required(body, 'executionArn')))),
    'AWSStepFunctions.StopExecution': (body) =>
      guarded(() => {
        const record = engine.stopExecution(required(body, 'executionArn'), body.error, body.cause);
        return { stopDate: epochSeconds(record.stopDate ?? new Date()) };
      }),
    'secretsmanager.GetSecretValue': (body) => {
      const secretId = required(body, 'SecretId');
      const value = secrets[secretId];
      if (value === undefined) throw new ServiceError('ResourceNotFoundException', `Secrets Manager can't find the specified secret: ${secretId}`);
      return { ARN: secretId, Name: secretId, SecretString: value, VersionId: 'local', CreatedDate: 0 };
    },
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
      const contentType = target.startsWith('secretsmanager.') ? 'application/x-amz-json-1.1' : 'application/x-amz-json-1.0';
      const send = (statusCode: number, payload: unknown) => {
        response.writeHead(statusCode, { 'content-type': contentType });
        response.end(JSON.stringify(payload));
      };
      try {
        const operation = table[target];
        if (!operation) throw new ServiceError('UnknownOperationException', `the local endpoint does not implement ${target}`);
        const raw = await readBody(request);
        send(200, operation(raw ? (JSON.parse(raw) as Record<string, string>) : {}) ?? {});
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
