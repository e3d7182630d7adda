import { createHash, randomInt } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { ProviderRequest } from '../../runtime/domain/request-schema.js';
import type { FaultName } from './faults.js';
import type { Renderer } from './render.js';
import type { TaskSnapshot } from './responses.js';
import { loadTaskFile, TASK_FILE_NAME, TASK_FILE_VERSION, TaskFileWriter, type LogLine, type PersistedTask, type TaskFileContent } from './task-file.js';
import { planTask, readClock, type GatewayStatus, type TaskTimeline } from './task-clock.js';
import { durationSeconds, planVideo, promptOf, type VideoSpec } from './video-spec.js';

/** What tests and tools may inspect about a simulated task. Times are epoch milliseconds. */
export interface SimulatedTaskView {
  id: string;
  status: GatewayStatus;
  request: ProviderRequest;
  createdAt: number;
  /** The planned end; a task whose render is slower ends when the render does. */
  finishAt: number;
  videoBytes?: number;
  videoSha256?: string;
  /** False while the create is pending, and for good when its answer was lost (hang, 5xx, client gone). */
  createAnswered: boolean;
  /** How many times the whole video was sent to the end. */
  fullDownloads: number;
  /** The injected faults that hit this task (its create, its polls, its downloads), with counts. */
  faults: Partial<Record<FaultName, number>>;
  /** Why an image of the request is not in the video (unreadable, too large, not an image, ffmpeg refused it). */
  imageNotes?: string[];
}

/** What fault injection decided for a new task. */
export interface TaskFate {
  /** End FAILURE at the planned end, with a fail_reason. */
  failure?: boolean;
  /** Stay IN_PROGRESS forever: never rendered, never finished. */
  neverFinish?: boolean;
}

interface RenderedVideo {
  path: string;
  bytes: number;
  sha256: string;
}

export interface SimulatedTask extends TaskTimeline {
  id: string;
  request: ProviderRequest;
  spec?: VideoSpec;
  /** The finished file, once rendered: what the CDN URL serves. */
  video?: RenderedVideo;
  createAnswered: boolean;
  fullDownloads: number;
  faults: Partial<Record<FaultName, number>>;
  /** The `taskNeverFinish` draw: no outcome and no render, for ever (also after a restart). */
  neverFinish?: boolean;
}

export interface TaskStoreOptions {
  dataDir: string;
  timeScale: number;
  renderer: Renderer;
  /** Where the one-line notices about tasks.json go (a corrupt file, a restore). */
  log: LogLine;
}

const FAIL_MARKER = /\bFAIL_TASK\b/;
/** `TAKES_25S` in a prompt: the task runs that many seconds of wall time, whatever the time scale (a late task on demand). */
const DURATION_MARKER = /\bTAKES_(\d{1,5})S\b/;
const SIMULATED_FAILURE_REASON = 'simulated failure: the prompt asked for FAIL_TASK';
const INJECTED_FAILURE_REASON = 'simulated fault: the upstream generation failed (taskFailureRate)';
const FINISHED: ReadonlySet<GatewayStatus> = new Set(['SUCCESS', 'FAILURE']);
const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** `cgt-20260312231129-7db6s`: the provider's id format, with the UTC creation time in it. */
function newTaskId(now: number): string {
  const stamp = new Date(now).toISOString().replace(/\D/g, '').slice(0, 14);
  const suffix = Array.from({ length: 5 }, () => ID_ALPHABET[randomInt(ID_ALPHABET.length)]).join('');
  return `cgt-${stamp}-${suffix}`;
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function plannedFor(request: ProviderRequest, timeScale: number): Pick<SimulatedTask, 'startsAfterMs' | 'plannedMs'> {
  const asked = DURATION_MARKER.exec(promptOf(request));
  return asked ? { startsAfterMs: 0, plannedMs: Number(asked[1]) * 1000 } : planTask(request, timeScale);
}

/** A task as tasks.json keeps it. */
function toPersisted(task: SimulatedTask): PersistedTask {
  return {
    id: task.id,
    request: task.request,
    createdAt: task.createdAt,
    plannedMs: task.plannedMs,
    ...(task.startsAfterMs !== undefined ? { startsAfterMs: task.startsAfterMs } : {}),
    ...(task.outcome ? { outcome: task.outcome } : {}),
    ...(task.neverFinish ? { neverFinish: true } : {}),
    ...(task.spec ? { spec: task.spec } : {}),
    ...(task.video ? { video: { file: basename(task.video.path), bytes: task.video.bytes, sha256: task.video.sha256 } } : {}),
    createAnswered: task.createAnswered,
    fullDownloads: task.fullDownloads,
    faults: { ...task.faults },
  };
}

/** The rendered file a persisted task points at, if it is still there whole. */
async function existingVideo(dataDir: string, video: NonNullable<PersistedTask['video']>): Promise<RenderedVideo | undefined> {
  const path = join(dataDir, video.file);
  try {
    const { size } = await stat(path);
    return size === video.bytes ? { path, bytes: video.bytes, sha256: video.sha256 } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Every task of the simulator, kept in `<dataDir>/tasks.json` (see task-file.ts) so that a restart
 * forgets none of them. Times are absolute, so a reloaded task keeps its timeline: one whose planned
 * end passed while the simulator was down is done at once, as soon as its video exists.
 */
export class TaskStore {
  readonly #tasks = new Map<string, SimulatedTask>();
  /** The tasks not yet seen finished by `unfinished()`; a finished task never runs again, so it leaves for good. */
  readonly #open = new Set<SimulatedTask>();
  readonly #renders = new Set<Promise<void>>();
  readonly #stopping = new AbortController();
  readonly #options: TaskStoreOptions;
  readonly #file: TaskFileWriter;

  private constructor(options: TaskStoreOptions) {
    this.#options = options;
    this.#file = new TaskFileWriter(options.dataDir, () => this.#content(), options.log);
  }

  /**
   * The store of `dataDir` with the tasks of its tasks.json. A task whose render had not finished
   * (its file missing, partial or of another size) is rendered again and stays IN_PROGRESS until
   * it is. `timeScale` applies to new tasks only: reloaded ones keep their planned times.
   */
  static async open(options: TaskStoreOptions): Promise<TaskStore> {
    const store = new TaskStore(options);
    const persisted = await loadTaskFile(options.dataDir, options.log);
    let rerenders = 0;
    for (const saved of persisted) {
      const { video: savedVideo, outcome, ...rest } = saved;
      const task: SimulatedTask = { ...rest, ...(outcome ? { outcome } : {}) };
      const video = savedVideo && outcome?.kind === 'succeeded' ? await existingVideo(options.dataDir, savedVideo) : undefined;
      if (video) task.video = video;
      // A success without its file is not a success yet: the render runs again and sets a new outcome.
      if (task.outcome?.kind === 'succeeded' && !video) delete task.outcome;
      store.#tasks.set(task.id, task);
      store.#open.add(task);
      if (!task.outcome && !task.neverFinish) {
        store.#startRender(task);
        rerenders += 1;
      }
    }
    if (persisted.length > 0) {
      const file = join(options.dataDir, TASK_FILE_NAME);
      options.log(`provider simulator: restored ${persisted.length} task(s) from ${file}, ${rerenders} render(s) restarted`);
    }
    return store;
  }

  create(request: ProviderRequest, fate: TaskFate = {}): SimulatedTask {
    const createdAt = Date.now();
    let id = newTaskId(createdAt);
    while (this.#tasks.has(id)) id = newTaskId(createdAt);
    const task: SimulatedTask = {
      id,
      request,
      createdAt,
      ...plannedFor(request, this.#options.timeScale),
      createAnswered: false,
      fullDownloads: 0,
      faults: {},
      ...(fate.neverFinish && !fate.failure ? { neverFinish: true } : {}),
    };
    this.#tasks.set(id, task);
    this.#open.add(task);

    if (FAIL_MARKER.test(promptOf(request))) {
      task.outcome = { kind: 'failed', at: createdAt, reason: SIMULATED_FAILURE_REASON };
    } else if (fate.failure) {
      task.outcome = { kind: 'failed', at: createdAt, reason: INJECTED_FAILURE_REASON };
    } else if (fate.neverFinish) {
      // No outcome and no render: the clock reads IN_PROGRESS for ever.
    } else {
      this.#startRender(task);
    }
    void this.save();
    return task;
  }

  /**
   * Writes tasks.json soon; resolves once a write that saw the current state is done. The store
   * saves by itself when a task is made, planned or rendered; callers save after changing other
   * fields of a task (its counters) they want kept.
   */
  save(): Promise<void> {
    return this.#file.save();
  }

  get(id: string): SimulatedTask | undefined {
    return this.#tasks.get(id);
  }

  /**
   * How many tasks are NOT_START, QUEUED or IN_PROGRESS at `now` by the task clock: a task whose end
   * has passed is finished whether or not anyone polled it.
   */
  unfinished(now = Date.now()): number {
    for (const task of this.#open) {
      if (FINISHED.has(readClock(task, now).status)) this.#open.delete(task);
    }
    return this.#open.size;
  }

  recordFault(task: SimulatedTask, name: FaultName): void {
    task.faults[name] = (task.faults[name] ?? 0) + 1;
  }

  snapshot(task: SimulatedTask, videoUrl: string, now = Date.now()): TaskSnapshot {
    const reading = readClock(task, now);
    return {
      id: task.id,
      model: task.request.model,
      createdAt: task.createdAt,
      status: reading.status,
      progress: reading.progress,
      startedAt: reading.startedAt,
      finishedAt: reading.finishedAt,
      videoUrl: reading.status === 'SUCCESS' ? videoUrl : undefined,
      failReason: reading.failReason,
      durationSeconds: durationSeconds(task.request),
      ratio: task.spec?.ratio ?? task.request.ratio,
      resolution: task.request.resolution,
      width: task.spec?.width,
      height: task.spec?.height,
    };
  }

  views(now = Date.now()): SimulatedTaskView[] {
    return [...this.#tasks.values()].map((task) => ({
      id: task.id,
      status: readClock(task, now).status,
      request: task.request,
      createdAt: task.createdAt,
      finishAt: task.createdAt + task.plannedMs,
      ...(task.video ? { videoBytes: task.video.bytes, videoSha256: task.video.sha256 } : {}),
      createAnswered: task.createAnswered,
      fullDownloads: task.fullDownloads,
      faults: { ...task.faults },
      ...(task.spec?.imageNotes ? { imageNotes: [...task.spec.imageNotes] } : {}),
    }));
  }

  /**
   * Stops every render in flight and writes tasks.json a last time; files already rendered stay in
   * dataDir, and the interrupted renders run again when a simulator opens the same dataDir.
   */
  async stop(): Promise<void> {
    this.#stopping.abort();
    await Promise.allSettled(this.#renders);
    await this.#file.close();
  }

  #content(): TaskFileContent {
    return { version: TASK_FILE_VERSION, tasks: [...this.#tasks.values()].map(toPersisted) };
  }

  /** Said once, where the person running the simulator looks, besides being drawn on the video. */
  #logImageNotes(task: SimulatedTask, notes: readonly string[]): void {
    for (const note of notes) this.#options.log(`provider simulator: task ${task.id}: ${note}`);
  }

  #startRender(task: SimulatedTask): void {
    const render = this.#render(task).finally(() => this.#renders.delete(render));
    this.#renders.add(render);
  }

  async #render(task: SimulatedTask): Promise<void> {
    const signal = this.#stopping.signal;
    try {
      if (!task.spec) {
        // Kept at once, with copies of its images: the media URLs (presigned, say) may be gone when
        // a restart renders it again.
        task.spec = await planVideo(task.request, this.#options.dataDir, task.id, signal);
        this.#logImageNotes(task, task.spec.imageNotes ?? []);
        void this.save();
      }
      const path = join(this.#options.dataDir, `${task.id}.mp4`);
      const { imageNote } = await this.#options.renderer.render(task.spec, path, signal);
      if (imageNote) {
        // The images ffmpeg refused leave the spec, so a render after a restart does not try them again.
        const { firstFrame: _first, lastFrame: _last, ...withoutImages } = task.spec;
        task.spec = { ...withoutImages, imageNotes: [...(withoutImages.imageNotes ?? []), imageNote] };
        this.#logImageNotes(task, [imageNote]);
      }
      task.video = { path, bytes: (await stat(path)).size, sha256: await sha256Of(path) };
      task.outcome = { kind: 'succeeded', at: Date.now() };
    } catch (error) {
      if (signal.aborted) return;
      // A broken ffmpeg must not leave the task running forever: it fails like a provider fault would.
      const message = error instanceof Error ? error.message : String(error);
      task.outcome = { kind: 'failed', at: Date.now(), reason: `the simulator could not render the video: ${message}` };
    }
    await this.save();
  }
}
