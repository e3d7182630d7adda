import { createHash, randomInt } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProviderRequest } from '../../lambdas/core/request-schema.js';
import type { Renderer } from './render.js';
import type { TaskSnapshot } from './responses.js';
import { plannedGenerationMs, readClock, type GatewayStatus, type TaskTimeline } from './task-clock.js';
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
}

interface RenderedVideo {
  path: string;
  bytes: number;
  sha256: string;
}

interface SimulatedTask extends TaskTimeline {
  id: string;
  request: ProviderRequest;
  spec?: VideoSpec;
  video?: RenderedVideo;
}

const FAIL_MARKER = /\bFAIL_TASK\b/;
const SIMULATED_FAILURE_REASON = 'simulated failure: the prompt asked for FAIL_TASK';
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

export class TaskStore {
  readonly #tasks = new Map<string, SimulatedTask>();
  readonly #renders = new Set<Promise<void>>();
  readonly #stopping = new AbortController();
  readonly #options: { dataDir: string; timeScale: number; renderer: Renderer };

  constructor(options: { dataDir: string; timeScale: number; renderer: Renderer }) {
    this.#options = options;
  }

  create(request: ProviderRequest): SimulatedTask {
    const createdAt = Date.now();
    let id = newTaskId(createdAt);
    while (this.#tasks.has(id)) id = newTaskId(createdAt);
    const task: SimulatedTask = {
      id,
      request,
      createdAt,
      plannedMs: plannedGenerationMs(request, this.#options.timeScale),
    };
    this.#tasks.set(id, task);

    if (FAIL_MARKER.test(promptOf(request))) {
      task.outcome = { kind: 'failed', at: createdAt, reason: SIMULATED_FAILURE_REASON };
    } else {
      const render = this.#render(task).finally(() => this.#renders.delete(render));
      this.#renders.add(render);
    }
    return task;
  }

  get(id: string): SimulatedTask | undefined {
    return this.#tasks.get(id);
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
    }));
  }

  /** The finished file of a task, once rendered: what the CDN URL serves. */
  video(id: string): RenderedVideo | undefined {
    return this.#tasks.get(id)?.video;
  }

  /** Stops every render in flight; files already rendered stay in dataDir. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    await Promise.allSettled(this.#renders);
  }

  async #render(task: SimulatedTask): Promise<void> {
    const signal = this.#stopping.signal;
    try {
      task.spec = await planVideo(task.request, signal);
      const path = join(this.#options.dataDir, `${task.id}.mp4`);
      await this.#options.renderer.render(task.spec, path, signal);
      task.video = { path, bytes: (await stat(path)).size, sha256: await sha256Of(path) };
      task.outcome = { kind: 'succeeded', at: Date.now() };
    } catch (error) {
      if (signal.aborted) return;
      // A broken ffmpeg must not leave the task running forever: it fails like a provider fault would.
      const message = error instanceof Error ? error.message : String(error);
      task.outcome = { kind: 'failed', at: Date.now(), reason: `the simulator could not render the video: ${message}` };
    }
  }
}
