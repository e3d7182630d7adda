import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createProviderRequestSchema } from '../../runtime/domain/request-schema.js';
import { FaultDice, simulatorFaults, type SimulatorFaults, type SimulatorFaultsInput } from './faults.js';
import { createRenderer, defaultFfmpegPath } from './render.js';
import { DEFAULT_MAX_ACTIVE_TASKS, simulatorQuota, type SimulatorQuota } from './quota.js';
import type { ResponseStyle } from './responses.js';
import { requestListener } from './routes/router.js';
import { StatsCounter, type SimulatorStats } from './stats.js';
import { TaskStore, type SimulatedTaskView } from './task-store.js';

/**
 * A local stand-in for the provider API (docs/provider-api.md) on a real HTTP port: it checks the key
 * and the body like the provider, plays each task through its statuses over a realistic
 * (scalable) time, and serves a real MP4 that matches the request from a CDN-like URL.
 *
 * This file starts and stops it and holds its settings; routes/ answers the requests.
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

  const quota = (): SimulatorQuota => ({ maxActiveTasks, activeTasks: store.unfinished() });

  function setMaxActiveTasks(value: number): SimulatorQuota {
    maxActiveTasks = simulatorQuota({ maxActiveTasks: value }).maxActiveTasks;
    return quota();
  }

  function setFaults(input: unknown): SimulatorFaults {
    faults = simulatorFaults(input);
    return structuredClone(faults);
  }

  const server = createServer(
    requestListener({
      apiKey: options.apiKey,
      schema,
      style,
      store,
      stats,
      dice,
      stopping: stopping.signal,
      faults: () => faults,
      setFaults,
      quota,
      setMaxActiveTasks,
      videoUrl: (id) => `${options.publicBaseUrl ?? baseUrl}/videos/${id}.mp4`,
    }),
  );

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
