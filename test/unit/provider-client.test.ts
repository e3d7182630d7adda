import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { PipelineError } from '../../runtime/domain/errors.js';
import { createProviderClient, type ProviderClient } from '../../runtime/provider/provider-client.js';
import { CREATED_TASK, PROVIDER_EXAMPLE_REQUEST, TASK_ID, taskEnvelope } from '../../testkit/provider-fixtures.js';

/**
 * The client against a real HTTP server on loopback: every answer below crosses a socket, so the
 * classification is tested on what fetch really raises (timeouts, resets, refused connections).
 */

const KEY = 'sk-test-provider-key';
const SHORT_TIMEOUT_MS = 150;

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

type Handler = (request: IncomingMessage, body: string, response: ServerResponse) => void;

let server: Server;
let baseUrl: string;
let handler: Handler;
let received: Received[];

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      received.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body });
      handler(request, body, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  received = [];
  handler = () => {
    throw new Error('no handler set for this test');
  };
});

function answer(status: number, body: unknown = undefined, headers: Record<string, string> = {}): Handler {
  return (_request, _body, response) => {
    const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end(text);
  };
}

/** Never answers: the client's own timeout must end the call. */
const hang: Handler = () => {};

/** Reads the whole request, then cuts the connection without a byte of answer. */
const dropConnection: Handler = (request) => {
  request.socket.destroy();
};

function client(options: { baseUrl?: string; createTimeoutMs?: number; getTimeoutMs?: number } = {}): ProviderClient {
  return createProviderClient({
    baseUrl: options.baseUrl ?? `${baseUrl}/`,
    apiKey: async () => KEY,
    createTimeoutMs: options.createTimeoutMs ?? 5_000,
    getTimeoutMs: options.getTimeoutMs ?? 5_000,
  });
}

const request = PROVIDER_EXAMPLE_REQUEST;

const created = CREATED_TASK;

async function failure(call: Promise<unknown>): Promise<PipelineError> {
  try {
    await call;
  } catch (error) {
    expect(error).toBeInstanceOf(PipelineError);
    return error as PipelineError;
  }
  throw new Error('expected the call to fail');
}

/** A port that was just free: connecting to it is refused. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe('createTask', () => {
  test('200 gives the task id; the key, the JSON body and the path were sent', async () => {
    handler = answer(200, created);
    await expect(client().createTask(request)).resolves.toEqual({ taskId: TASK_ID });
    expect(received).toHaveLength(1);
    const [sent] = received;
    expect(sent!.method).toBe('POST');
    expect(sent!.url).toBe('/v1/video/generations');
    expect(sent!.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(sent!.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(sent!.body)).toEqual(request);
  });

  test('201 with only an asyntask_ id gives that id', async () => {
    handler = answer(201, { id: 'asyntask_01J9ZK', status: 'queued' });
    await expect(client().createTask(request)).resolves.toEqual({ taskId: 'asyntask_01J9ZK' });
  });

  test.each([401, 403])('%d is PROVIDER_AUTH_FAILED, not retryable', async (status) => {
    handler = answer(status, { error: { message: 'invalid api key', type: 'auth_error', code: 'invalid_key' } });
    const error = await failure(client().createTask(request));
    expect(error.name).toBe('PROVIDER_AUTH_FAILED');
    expect(error.retryable).toBe(false);
    expect(received).toHaveLength(1);
  });

  test.each([
    [400, 'duration must be between 4 and 15'],
    [402, 'insufficient balance, please top up'],
  ])('%d is PROVIDER_REJECTED with the gateway message', async (status, message) => {
    handler = answer(status, { error: { message, type: 'invalid_request_error', code: 'bad_request' } });
    const error = await failure(client().createTask(request));
    expect(error.name).toBe('PROVIDER_REJECTED');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain(message);
    expect(error.message).toContain(String(status));
  });

  test('429 is PROVIDER_BUSY: no task was made, and the job goes back to the line instead of retrying', async () => {
    handler = answer(429, { error: { message: 'too many requests', type: 'rate_limit', code: 'rate_limited' } });
    const error = await failure(client().createTask(request));
    expect(error.name).toBe('PROVIDER_BUSY');
    expect(error.retryable).toBe(false);
  });

  test.each([
    [400, { error: { message: 'too many unfinished tasks', type: 'invalid_request_error', code: 'concurrency_limit_exceeded' } }],
    [403, { error: { message: 'slow down', type: 'rate_limit_error', code: 'x' } }],
  ])('a %i whose error type or code is a concurrency limit is PROVIDER_BUSY too', async (status, body) => {
    handler = answer(status, body);
    expect((await failure(client().createTask(request))).name).toBe('PROVIDER_BUSY');
  });

  test('a 429 on a poll stays PROVIDER_UNAVAILABLE: the poll loop backs off and asks again', async () => {
    handler = answer(429, { error: { message: 'too many requests', type: 'rate_limit', code: 'rate_limited' } });
    const error = await failure(client().getTask('task-1'));
    expect(error.name).toBe('PROVIDER_UNAVAILABLE');
  });

  test('503 with an empty body is PROVIDER_UNAVAILABLE and retryable', async () => {
    handler = answer(503);
    const error = await failure(client().createTask(request));
    expect(error.name).toBe('PROVIDER_UNAVAILABLE');
    expect(error.retryable).toBe(true);
  });

  test.each([
    [500, { error: { message: 'internal error', type: 'server_error', code: 'internal' } }],
    [502, 'Bad Gateway'],
    [504, 'Gateway Timeout'],
    [503, { error: { message: 'upstream overloaded', type: 'server_error', code: 'upstream' } }],
  ])('%d (with a body) is SUBMISSION_UNCERTAIN, not retryable', async (status, body) => {
    handler = answer(status, body);
    const error = await failure(client().createTask(request));
    expect(error.name).toBe('SUBMISSION_UNCERTAIN');
    expect(error.retryable).toBe(false);
  });

  test('502 with an empty body is SUBMISSION_UNCERTAIN', async () => {
    handler = answer(502);
    const error = await failure(client().createTask(request));
    expect(error.name).toBe('SUBMISSION_UNCERTAIN');
  });

  test('a create that hangs past createTimeoutMs is SUBMISSION_UNCERTAIN', async () => {
    handler = hang;
    const started = Date.now();
    const error = await failure(client({ createTimeoutMs: SHORT_TIMEOUT_MS }).createTask(request));
    expect(error.name).toBe('SUBMISSION_UNCERTAIN');
    expect(error.retryable).toBe(false);
    expect(Date.now() - started).toBeLessThan(3_000);
    // The request did reach the provider: that is why the outcome is uncertain.
    expect(received).toHaveLength(1);
  });

  test('an answer cut off after the headers is SUBMISSION_UNCERTAIN', async () => {
    handler = (_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
      response.write('{"id":"cgt-');
      setTimeout(() => response.socket?.destroy(), 20);
    };
    const error = await failure(client().createTask(request));
    expect(error.name).toBe('SUBMISSION_UNCERTAIN');
  });

  test('a connection dropped after the request was read is SUBMISSION_UNCERTAIN', async () => {
    handler = dropConnection;
    const error = await failure(client().createTask(request));
    expect(error.name).toBe('SUBMISSION_UNCERTAIN');
    expect(error.retryable).toBe(false);
    expect(received).toHaveLength(1);
  });

  test('a refused connection is PROVIDER_UNAVAILABLE and retryable', async () => {
    const port = await closedPort();
    const error = await failure(client({ baseUrl: `http://127.0.0.1:${port}` }).createTask(request));
    expect(error.name).toBe('PROVIDER_UNAVAILABLE');
    expect(error.retryable).toBe(true);
  });

  test('a provider key that cannot be read sends nothing and is PROVIDER_UNAVAILABLE (retryable)', async () => {
    // e.g. Secrets Manager throttled on a cold start: no request left us, so a retry is safe.
    handler = answer(200, created);
    const failing = createProviderClient({
      baseUrl,
      apiKey: async () => {
        throw new Error('ThrottlingException: Rate exceeded');
      },
    });
    const error = await failure(failing.createTask(request));
    expect(received).toHaveLength(0);
    expect(error.name).toBe('PROVIDER_UNAVAILABLE');
    expect(error.retryable).toBe(true);
  });

  test.each([
    ['no id', { object: 'video', status: '' }],
    ['not JSON', '<html>ok</html>'],
    ['an empty body', ''],
  ])('200 with %s is SUBMISSION_UNCERTAIN', async (_name, body) => {
    handler = answer(200, body);
    const error = await failure(client().createTask(request));
    expect(error.name).toBe('SUBMISSION_UNCERTAIN');
    expect(error.retryable).toBe(false);
  });
});

describe('getTask', () => {
  const envelope = taskEnvelope();

  test('200 with the envelope gives the snapshot; the key and the task path were sent', async () => {
    handler = answer(200, envelope);
    await expect(client().getTask(TASK_ID)).resolves.toEqual({
      taskId: TASK_ID,
      phase: 'running',
      providerStatus: 'IN_PROGRESS',
      progress: 50,
      submitTime: 1773328294,
      startTime: 1773328300,
      shareDoneAtMost: 1,
    });
    expect(received).toHaveLength(1);
    expect(received[0]!.method).toBe('GET');
    expect(received[0]!.url).toBe(`/v1/video/generations/${TASK_ID}`);
    expect(received[0]!.headers.authorization).toBe(`Bearer ${KEY}`);
  });

  test('a task id with reserved characters is escaped into one path segment', async () => {
    handler = answer(200, { id: 'a/b c', status: 'processing' });
    await client().getTask('a/b c');
    expect(received[0]!.url).toBe('/v1/video/generations/a%2Fb%20c');
  });

  test('a succeeded task carries its video URL', async () => {
    const videoUrl = 'https://cdn.example.com/video.mp4';
    handler = answer(200, { ...envelope, data: { ...envelope.data, status: 'SUCCESS', result_url: videoUrl, fail_reason: videoUrl } });
    const snapshot = await client().getTask(TASK_ID);
    expect(snapshot).toMatchObject({ phase: 'succeeded', videoUrl, progress: 100 });
    expect(snapshot).not.toHaveProperty('failReason');
  });

  test.each([
    [404, { code: 'task_not_exist', message: `task ${TASK_ID} does not exist`, data: null }],
    [400, { error: { message: 'invalid task id', type: 'invalid_request_error', code: 'bad_request' } }],
  ])('%d is PROVIDER_TASK_NOT_FOUND', async (status, body) => {
    handler = answer(status, body);
    const error = await failure(client().getTask(TASK_ID));
    expect(error.name).toBe('PROVIDER_TASK_NOT_FOUND');
    expect(error.retryable).toBe(false);
  });

  test('the task_not_exist code and message reach the error message', async () => {
    handler = answer(404, { code: 'task_not_exist', message: 'no such task', data: null });
    const error = await failure(client().getTask(TASK_ID));
    expect(error.message).toContain('task_not_exist');
    expect(error.message).toContain('no such task');
  });

  test.each([401, 403])('%d is PROVIDER_AUTH_FAILED', async (status) => {
    handler = answer(status, { error: { message: 'bad key', type: 'auth_error', code: 'invalid_key' } });
    expect((await failure(client().getTask(TASK_ID))).name).toBe('PROVIDER_AUTH_FAILED');
  });

  test.each([
    [500, { error: { message: 'internal', type: 'server_error', code: 'internal' } }],
    [502, 'Bad Gateway'],
    [503, ''],
    [504, 'Gateway Timeout'],
    [429, { error: { message: 'too many requests', type: 'rate_limit', code: 'rate_limited' } }],
  ])('%d is PROVIDER_UNAVAILABLE and retryable', async (status, body) => {
    handler = answer(status, body);
    const error = await failure(client().getTask(TASK_ID));
    expect(error.name).toBe('PROVIDER_UNAVAILABLE');
    expect(error.retryable).toBe(true);
  });

  test('a poll that hangs past getTimeoutMs is PROVIDER_UNAVAILABLE', async () => {
    handler = hang;
    const error = await failure(client({ getTimeoutMs: SHORT_TIMEOUT_MS }).getTask(TASK_ID));
    expect(error.name).toBe('PROVIDER_UNAVAILABLE');
    expect(error.retryable).toBe(true);
  });

  test('a dropped connection is PROVIDER_UNAVAILABLE', async () => {
    handler = dropConnection;
    expect((await failure(client().getTask(TASK_ID))).name).toBe('PROVIDER_UNAVAILABLE');
  });

  test('a refused connection is PROVIDER_UNAVAILABLE', async () => {
    const port = await closedPort();
    expect((await failure(client({ baseUrl: `http://127.0.0.1:${port}` }).getTask(TASK_ID))).name).toBe('PROVIDER_UNAVAILABLE');
  });

  test.each([
    ['not JSON', '{"code":"success","data":'],
    ['HTML', '<html>maintenance</html>'],
    ['JSON without a status', { code: 'success', data: { task_id: TASK_ID } }],
  ])('200 with %s is PROVIDER_BAD_RESPONSE, retryable', async (_name, body) => {
    handler = answer(200, body);
    const error = await failure(client().getTask(TASK_ID));
    expect(error.name).toBe('PROVIDER_BAD_RESPONSE');
    expect(error.retryable).toBe(true);
  });
});
