import type { FaultName } from './faults.js';

/**
 * What the simulator saw and did, for a chaos report. Counters only grow; a create is counted in
 * exactly one of createsInvalid / createsAccepted / createsRefused / createsUnanswered once it is
 * settled (a create still waiting out its latency is in none of them yet).
 *
 * The counters live in memory only: a restarted simulator starts them from zero, although it
 * reloads its tasks (and each task's own fault counts) from `<dataDir>/tasks.json`.
 */
export interface SimulatorStats {
  /** Create requests (POST /v1/video/generations), whatever became of them. */
  creates: number;
  /**
   * Creates that ended before any fault was drawn: a bad key, an invalid or oversized body
   * (401/400/413), or a body that never fully arrived. No task.
   */
  createsInvalid: number;
  /** Creates answered 200 with the task id. */
  createsAccepted: number;
  /** Creates refused with 429 or a 503 with an empty body: no task was made, a retry is safe. */
  createsRefused: number;
  /** Of createsRefused, the 429s for the quota: the account already held maxActiveTasks unfinished tasks. */
  quotaRefusals: number;
  /**
   * Creates that made a task (billed) whose id the client never got: a hang, a 500/502/504 or a 503
   * with a body after the task was made, or a client that left during the create latency.
   */
  createsUnanswered: number;
  tasksCreated: number;
  /** Polls (GET /v1/video/generations/{id}) of any task, known or not. */
  polls: number;
  /** Polls answered with an injected fault: 429, 5xx or malformed JSON. */
  pollFaults: number;
  /** GETs of a rendered video (HEAD not counted). */
  downloads: number;
  /** Downloads cut short on purpose. */
  downloadsCut: number;
  /** Downloads whose whole file was sent to the end (a 200, or a range covering the file). */
  fullDownloads: number;
  /**
   * The most unfinished tasks (NOT_START, QUEUED, IN_PROGRESS) held at once, by the task clock, polled
   * or not. The count only rises when a task is made, so it is taken then (and at start, for the
   * tasks reloaded from tasks.json).
   */
  peakActiveTasks: number;
  /** How often each fault hit, over all requests and tasks. */
  faults: Partial<Record<FaultName, number>>;
}

export type SimulatorCounter = Exclude<keyof SimulatorStats, 'faults' | 'peakActiveTasks'>;

export class StatsCounter {
  readonly #counts: Record<SimulatorCounter, number> = {
    creates: 0,
    createsInvalid: 0,
    createsAccepted: 0,
    createsRefused: 0,
    quotaRefusals: 0,
    createsUnanswered: 0,
    tasksCreated: 0,
    polls: 0,
    pollFaults: 0,
    downloads: 0,
    downloadsCut: 0,
    fullDownloads: 0,
  };
  readonly #faults: Partial<Record<FaultName, number>> = {};
  #peakActiveTasks = 0;

  count(counter: SimulatorCounter): void {
    this.#counts[counter] += 1;
  }

  fault(name: FaultName): void {
    this.#faults[name] = (this.#faults[name] ?? 0) + 1;
  }

  activeTasks(count: number): void {
    this.#peakActiveTasks = Math.max(this.#peakActiveTasks, count);
  }

  snapshot(): SimulatorStats {
    return { ...this.#counts, peakActiveTasks: this.#peakActiveTasks, faults: { ...this.#faults } };
  }
}
