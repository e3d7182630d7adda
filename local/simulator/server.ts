import { mkdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createProviderRequestSchema, toFieldIssues, type ProviderRequest } from '../../runtime/domain/request-schema.js';
import { isLoopbackAddress } from '../../runtime/net/loopback.js';
import {
  FaultDice,
  SimulatorFaultsError,
  simulatorFaults,
  type Create5xxKind,
  type FaultName,
  type SimulatorFaults,
  type SimulatorFaultsInput,
} from './faults.js';
import { createRenderer, defaultFfmpegPath } from './render.js';
import {
  DEFAULT_MAX_ACTIVE_TASKS,
  SimulatorQuotaError,
  simulatorQuota,
  type SimulatorQuota,
  type SimulatorQuotaInput,
} from './quota.js';
import {
  concurrencyLimited,
  createdBody,
  gatewayError,
  gatewayFault,
  pollBody,
  rateLimited,
  taskNotFound,
  truncatedJson,
  type GatewayFaultStatus,
  type RawAnswer,
  type ResponseStyle,
} from './responses.js';
import { serveVideo } from './serve-video.js';
import { StatsCounter, type SimulatorStats } from './stats.js';
import { TaskStore, type SimulatedTask, type SimulatedTaskView } from './task-store.js';

/**
 * A local stand-in for the provider API (provider-api.md) on a real HTTP port: it checks the key
 * and the body like the provider, plays each task through its statuses over a realistic
 * (scalable) time, and serves a real MP4 that matches the request from a CDN-like URL.
 */

export type { SimulatedTaskView } from './task-store.js';
export { CONCURRENCY_LIMIT_CODE, type ResponseStyle } from './responses.js';
export { DEFAULT_MAX_ACTIVE_TASKS, type SimulatorQuota, type SimulatorQuotaInput } from './quota.js';
export type { SimulatorStats } from './stats.js';
export type { FaultName, SimulatorFaults, SimulatorFaultsInput } from './faults.js';

export interface SimulatorOptions {
  apiKey: string;
  /** Multiplies every generation time: 0.01 turns a two-minute task into about a second. */
  timeScale?: number;
  /** Folder for the rendered MP4s; created if missing. */
  dataDir: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  ffmpegPath?: string;
  /** Base of the video URLs handed out, when clients reach the simulator by another name. */
  publicBaseUrl?: string;
  /** The shape of poll answers; see responses.ts. */
  responseStyle?: ResponseStyle;
  /**
   * Accept http://127.0.0.1 media URLs: the local S3 has no TLS, so the presigned URLs the pipeline
   * makes for s3:// media are plain http there. The real provider only takes https.
   */
  allowLoopbackHttpMedia?: boolean;
  /** Fault injection (see faults.ts); every fault is off by default. Invalid settings throw. */
  faults?: SimulatorFaultsInput;
  /**
   * The account's quota: a create while this many tasks are unfinished (NOT_START, QUEUED,
   * IN_PROGRESS) answers 429 `concurrency_limit_exceeded` and makes no task. Default 120, like the
   * upstream; invalid values throw SimulatorQuotaError.
   */
  maxActiveTasks?: number;
  /** The random source of the fault draws (not of task timings or ids), for exact tests. */
  random?: () => number;
  /** Where one-line notices go (tasks.json restored, or set aside as corrupt); console.warn by default. */
  log?: (line: string) => void;
}

export interface ProviderSimulator {
  url: string;
  /** Stops serving and rendering; the tasks stay in `<dataDir>/tasks.json` for the next start. */
  stop(): Promise<void>;
  /** Every task, including those reloaded from `<dataDir>/tasks.json` at start. */
  tasks(): SimulatedTaskView[];
  /** The fault settings in force. */
  faults(): SimulatorFaults;
  /** Replaces the fault settings (missing keys are off); throws SimulatorFaultsError when invalid. */
  setFaults(faults: SimulatorFaultsInput): SimulatorFaults;
  /** The quota in force and how many tasks are unfinished now. */
  quota(): SimulatorQuota;
  /**
   * Changes the quota for the creates to come (tasks already made run on, even above it); throws
   * SimulatorQuotaError when invalid.
   */
  setMaxActiveTasks(maxActiveTasks: number): SimulatorQuota;
  /**
   * What this simulator saw and did since it started, for a chaos report. Not persisted: after a
   * restart the counters start from zero, while `tasks()` (with each task's own fault counts) goes on.
   */
  stats(): SimulatorStats;
}

/** The provider caps a whole create body at 64 MB. */
const MAX_BODY_BYTES = 64 * 1024 * 1024;
const GENERATIONS_PATH = '/v1/video/generations';
const TASK_PATH = /^\/v1\/video\/generations\/([^/]+)$/;
const VIDEO_PATH = /^\/videos\/([^/]+)\.mp4$/;
const ADMIN_FAULTS_PATH = '/_admin/faults';
const ADMIN_STATS_PATH = '/_admin/stats';
const ADMIN_QUOTA_PATH = '/_admin/quota';
const GET_5XX_STATUSES: readonly GatewayFaultStatus[] = [500, 502, 503, 504];

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: object,
  ) {
    super(`HTTP ${status}`);
  }
}

const invalidRequest = (status: number, message: string, code = 'invalid_request') =>
  new HttpError(status, gatewayError(message, 'invalid_request_error', code));

function sendJson(response: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  response.end(text);
}

function sendRaw(response: ServerResponse, answer: RawAnswer): void {
  response.writeHead(answer.status, { ...answer.headers, 'Content-Length': Buffer.byteLength(answer.body) });
  response.end(answer.body);
}

/** What fault injection decided for one create. */
type CreatePlan =
  | { answer: 'created' }
  | { answer: 'rate-limited' }
  | { answer: '5xx'; kind: Create5xxKind }
  | { answer: 'hang' };

/** Whether the create makes a task: everything but a 429 and a bare 503 (see faults.ts). */
const makesTask = (plan: CreatePlan) =>
  plan.answer === 'created' || plan.answer === 'hang' || (plan.answer === '5xx' && plan.kind !== '503-empty');

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > MAX_BODY_BYTES) {
      throw invalidRequest(413, `the body is larger than ${MAX_BODY_BYTES} bytes`, 'request_too_large');
    }
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw invalidRequest(400, 'the body is not valid JSON');
  }
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export async function startProviderSimulator(options: SimulatorOptions): Promise<ProviderSimulator> {
  const host = options.host ?? '127.0.0.1';
  const style = options.responseStyle ?? 'envelope';
  const schema = createProviderRequestSchema({ allowLoopbackHttp: options.allowLoopbackHttpMedia ?? false });
  await mkdir(options.dataDir, { recursive: true });
  const renderer = createRenderer(options.ffmpegPath ?? (await defaultFfmpegPath()));
  const store = await TaskStore.open({
    dataDir: options.dataDir,
    timeScale: options.timeScale ?? 1,
    renderer,
    log: options.log ?? ((line) => console.warn(line)),
  });
  let faults = simulatorFaults(options.faults ?? {});
  let maxActiveTasks = simulatorQuota({ maxActiveTasks: options.maxActiveTasks ?? DEFAULT_MAX_ACTIVE_TASKS }).maxActiveTasks;
  const dice = new FaultDice(() => faults, options.random);
  const stats = new StatsCounter();
  stats.activeTasks(store.unfinished());
  const stopping = new AbortController();
  let baseUrl = '';
  const videoUrl = (id: string) => `${options.publicBaseUrl ?? baseUrl}/videos/${id}.mp4`;

  const authorize = (request: IncomingMessage) => {
    if (request.headers.authorization !== `Bearer ${options.apiKey}`) {
      throw new HttpError(401, gatewayError('Invalid API key', 'authentication_error', 'invalid_api_key'));
    }
  };

  const methodNotAllowed = (response: ServerResponse, allow: string) => {
    response.setHeader('Allow', allow);
    return invalidRequest(405, `use ${allow}`, 'method_not_allowed');
  };

  const record = (name: FaultName, task?: SimulatedTask) => {
    stats.fault(name);
    if (task) store.recordFault(task, name);
  };

  async function readCreate(request: IncomingMessage): Promise<ProviderRequest> {
    authorize(request);
    const parsed = schema.safeParse(await readJson(request));
    if (!parsed.success) {
      const issues = toFieldIssues(parsed.error).map((issue) => `${issue.path}: ${issue.message}`);
      throw invalidRequest(400, `invalid request: ${issues.join('; ')}`);
    }
    return parsed.data;
  }

  function planCreate(): CreatePlan {
    if (dice.hits(faults.create429Rate)) return { answer: 'rate-limited' };
    if (dice.hits(faults.create5xxRate)) return { answer: '5xx', kind: dice.pick(faults.create5xxKinds) };
    if (dice.hits(faults.createHangRate)) return { answer: 'hang' };
    return { answer: 'created' };
  }

  function createTask(body: ProviderRequest): SimulatedTask {
    const failure = dice.hits(faults.taskFailureRate);
    const neverFinish = !failure && dice.hits(faults.taskNeverFinishRate);
    const task = store.create(body, { failure, neverFinish });
    stats.count('tasksCreated');
    stats.activeTasks(store.unfinished());
    if (failure) record('taskFailure', task);
    if (neverFinish) record('taskNeverFinish', task);
    return task;
  }

  /**
   * A create, with the quota and its faults. A task that is made is made before any delay or fault
   * answer: like a gateway that relayed the request upstream and then lost, or never sent, the answer.
   */
  async function handleCreate(request: IncomingMessage, response: ServerResponse): Promise<void> {
    stats.count('creates');
    let body: ProviderRequest;
    try {
      body = await readCreate(request);
    } catch (error) {
      stats.count('createsInvalid');
      throw error;
    }

    // From the quota check to the task being made nothing awaits: creates whose bodies arrive
    // together are checked one after the other, so they cannot share the last free slot.
    if (store.unfinished() >= maxActiveTasks) {
      stats.count('quotaRefusals');
      stats.count('createsRefused');
      return sendRaw(response, concurrencyLimited(maxActiveTasks));
    }
    const latencyMs = dice.createLatencyMs();
    const plan = planCreate();
    const task = makesTask(plan) ? createTask(body) : undefined;
    if (plan.answer === 'rate-limited') record('create429');
    if (plan.answer === '5xx') record('create5xx', task);

    if (plan.answer === 'hang') {
      // Counted at once: whatever happens next, the client will not get the id.
      record('createHang', task);
      stats.count('createsUnanswered');
      if (!response.destroyed) await new Promise((resolve) => response.once('close', resolve));
      return;
    }

    // On disk before any answer: a client that got the id must find the task after a restart.
    if (task) await store.save();

    if (latencyMs > 0) {
      record('createLatency', task);
      await sleep(latencyMs, undefined, { signal: stopping.signal }).catch(() => undefined);
    }
    if (response.destroyed || request.socket.destroyed) {
      // The client gave up (or the simulator is stopping) while the answer was held back.
      if (task) {
        if (plan.answer === 'created') record('createAbandoned', task);
        stats.count('createsUnanswered');
      } else {
        stats.count('createsRefused');
      }
      response.destroy();
      return;
    }

    switch (plan.answer) {
      case 'created':
        task!.createAnswered = true;
        void store.save();
        stats.count('createsAccepted');
        return sendJson(response, 200, createdBody(task!));
      case 'rate-limited':
        stats.count('createsRefused');
        return sendRaw(response, rateLimited());
      case '5xx':
        if (plan.kind === '503-empty') {
          stats.count('createsRefused');
          return sendRaw(response, gatewayFault(503, { emptyBody: true }));
        }
        stats.count('createsUnanswered');
        return sendRaw(response, gatewayFault(Number(plan.kind) as GatewayFaultStatus));
    }
  }

  async function handlePoll(request: IncomingMessage, response: ServerResponse, id: string): Promise<void> {
    stats.count('polls');
    authorize(request);
    const task = store.get(id);
    if (!task) throw new HttpError(404, taskNotFound(id));
    if (dice.hits(faults.get429Rate)) {
      record('get429', task);
      stats.count('pollFaults');
      return sendRaw(response, rateLimited());
    }
    if (dice.hits(faults.get5xxRate)) {
      record('get5xx', task);
      stats.count('pollFaults');
      return sendRaw(response, gatewayFault(dice.pick(GET_5XX_STATUSES)));
    }
    const body = pollBody(store.snapshot(task, videoUrl(id)), style);
    if (dice.hits(faults.malformedJsonRate)) {
      record('malformedJson', task);
      stats.count('pollFaults');
      return sendRaw(response, truncatedJson(body));
    }
    return sendJson(response, 200, body);
  }

  async function handleVideo(request: IncomingMessage, response: ServerResponse, id: string): Promise<void> {
    const task = store.get(id);
    const video = task?.video;
    if (!task || !video) throw invalidRequest(404, 'no such video', 'not_found');
    const isGet = request.method === 'GET';
    if (isGet) stats.count('downloads');
    const cut = isGet && dice.hits(faults.downloadCutRate);
    const served = await serveVideo(request, response, video, cut ? { cutAfterBytes: faults.downloadCutAfterBytes } : {});
    if (served === 'cut') {
      record('downloadCut', task);
      stats.count('downloadsCut');
    } else if (served === 'full') {
      task.fullDownloads += 1;
      stats.count('fullDownloads');
    }
  }

  /** `/_admin/faults` and `/_admin/quota` (GET, PUT), `/_admin/stats` (GET): to loopback clients only (they change what the simulator does, so no one off this machine may), without a key. */
  async function handleAdmin(request: IncomingMessage, response: ServerResponse, pathname: string): Promise<void> {
    const method = request.method ?? 'GET';
    if (!isLoopbackAddress(request.socket.remoteAddress)) {
      throw new HttpError(403, gatewayError('the admin routes are served to loopback clients only', 'permission_error', 'forbidden'));
    }
    if (pathname === ADMIN_STATS_PATH) {
      if (method !== 'GET') throw methodNotAllowed(response, 'GET');
      return sendJson(response, 200, stats.snapshot());
    }
    if (pathname === ADMIN_FAULTS_PATH) {
      if (method === 'GET') return sendJson(response, 200, faults);
      if (method !== 'PUT') throw methodNotAllowed(response, 'GET, PUT');
      try {
        return sendJson(response, 200, setFaults(await readJson(request)));
      } catch (error) {
        if (error instanceof SimulatorFaultsError) throw invalidRequest(400, error.message, 'invalid_faults');
        throw error;
      }
    }
    if (pathname === ADMIN_QUOTA_PATH) {
      if (method === 'GET') return sendJson(response, 200, quota());
      if (method !== 'PUT') throw methodNotAllowed(response, 'GET, PUT');
      try {
        return sendJson(response, 200, setMaxActiveTasks(simulatorQuota(await readJson(request)).maxActiveTasks));
      } catch (error) {
        if (error instanceof SimulatorQuotaError) throw invalidRequest(400, error.message, 'invalid_quota');
        throw error;
      }
    }
    throw invalidRequest(404, `no route for ${method} ${pathname}`, 'not_found');
  }

  const quota = (): SimulatorQuota => ({ maxActiveTasks, activeTasks: store.unfinished() });

  function setMaxActiveTasks(value: number): SimulatorQuota {
    maxActiveTasks = simulatorQuota({ maxActiveTasks: value }).maxActiveTasks;
    return quota();
  }

  function setFaults(input: unknown): SimulatorFaults {
    faults = simulatorFaults(input);
    return structuredClone(faults);
  }

  async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    // The path as sent: `new URL(target, base)` throws on `//` and reads `//host/v1/...` as another host's path.
    const pathname = (request.url ?? '/').split('?', 1)[0]!;
    const method = request.method ?? 'GET';

    if (pathname === GENERATIONS_PATH) {
      if (method !== 'POST') throw methodNotAllowed(response, 'POST');
      return handleCreate(request, response);
    }

    const taskMatch = TASK_PATH.exec(pathname);
    if (taskMatch) {
      if (method !== 'GET') throw methodNotAllowed(response, 'GET');
      return handlePoll(request, response, taskMatch[1]!);
    }

    const videoMatch = VIDEO_PATH.exec(pathname);
    if (videoMatch) {
      if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed(response, 'GET, HEAD');
      return handleVideo(request, response, videoMatch[1]!);
    }

    if (pathname === ADMIN_FAULTS_PATH || pathname === ADMIN_STATS_PATH || pathname === ADMIN_QUOTA_PATH) {
      return handleAdmin(request, response, pathname);
    }

    throw invalidRequest(404, `no route for ${method} ${pathname}`, 'not_found');
  }

  const server = createServer((request, response) => {
    route(request, response).catch((error: unknown) => {
      if (response.headersSent || response.destroyed) {
        response.destroy();
        return;
      }
      if (error instanceof HttpError) {
        // The rest of an oversized body is not worth reading: close instead.
        if (error.status === 413) response.setHeader('Connection', 'close');
        sendJson(response, error.status, error.body);
      } else {
        const message = error instanceof Error ? error.message : String(error);
        sendJson(response, 500, gatewayError(message, 'server_error', 'internal_error'));
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  baseUrl = `http://${formatHost(host)}:${port}`;

  return {
    url: baseUrl,
    tasks: () => store.views(),
    faults: () => structuredClone(faults),
    setFaults: (input) => setFaults(input),
    quota,
    setMaxActiveTasks,
    stats: () => stats.snapshot(),
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      stopping.abort();
      await Promise.all([closed, store.stop()]);
    },
  };
}
