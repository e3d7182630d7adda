/** What a chaos run is asked to do: its size, pacing, seed, and the faults and crashes switched on. */
import type { ChaosOptions } from '../../local/stack/chaos.js';
import type { SimulatorFaultsInput } from '../../local/simulator/server.js';

export type TriggerKind = 'http' | 'http-idempotent' | 's3' | 'batch';

export interface ChaosConfig {
  jobs: number;
  timeScale: number;
  /** The stack's maxJobsInFlight (CDK context): the cap of the admission line, smaller than the run's burst. */
  maxJobsInFlight: number;
  /** How long a task past its deadline is followed (CDK context lateFollowMinutes, × the time scale). */
  lateFollowMinutes: number;
  /** Submissions (POSTs, uploads) in flight at once. */
  concurrency: number;
  /**
   * Pacing: a new HTTP/S3 submission waits while this many jobs are started and not yet announced
   * (0: no pacing). The whole stack shares one event loop and the simulator renders with one ffmpeg
   * per core, so an unpaced burst of hundreds of jobs mostly measures the machine (they time out
   * waiting for renders and CPU), not the pipeline.
   */
  maxActive: number;
  /** Lines per batch manifest. */
  manifestLines: number;
  batchIntervalMs: number;
  /** How long to keep waiting past the last job's deadline. */
  graceAfterDeadlineMs: number;
  /** How long to wait for the sweeper's repairs (if any) to settle. */
  afterSweepMs: number;
  seed: number;
  faults: SimulatorFaultsInput;
  chaos: Omit<ChaosOptions, 'random'>;
  /** Progress lines (stderr in the bench); silent by default. */
  log?: (line: string) => void;
}

/** The provider faults of the 500-job run (`npm run chaos`). */
export const DEFAULT_FAULTS: SimulatorFaultsInput = {
  create5xxRate: 0.1,
  create429Rate: 0.1,
  get5xxRate: 0.1,
  get429Rate: 0.1,
  taskFailureRate: 0.05,
  taskNeverFinishRate: 0.02,
  downloadCutRate: 0.05,
  downloadCutAfterBytes: 4000,
  malformedJsonRate: 0.02,
};

export const DEFAULT_CHAOS: Omit<ChaosOptions, 'random'> = { taskCrashRate: 0.02, duplicateS3Deliveries: true };

export function chaosConfig(overrides: Partial<ChaosConfig> = {}): ChaosConfig {
  return {
    jobs: 500,
    timeScale: 0.01,
    maxJobsInFlight: 20,
    // Tasks that never finish are followed for this long past their deadline, holding their slots.
    lateFollowMinutes: 10,
    concurrency: 20,
    maxActive: 60,
    manifestLines: 25,
    batchIntervalMs: 200,
    graceAfterDeadlineMs: 60_000,
    afterSweepMs: 10_000,
    seed: 1,
    faults: DEFAULT_FAULTS,
    chaos: DEFAULT_CHAOS,
    ...overrides,
  };
}
