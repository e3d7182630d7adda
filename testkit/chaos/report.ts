/** What a chaos run reports: what was sent, what came of it, what was injected, and the pass conditions. */
import type { SweepReport } from '../../runtime/sweeper/job-sweeper.js';
import type { ChaosStats } from '../../local/stack/chaos.js';
import type { SimulatorStats } from '../../local/simulator/server.js';
import type { ChaosConfig, TriggerKind } from './config.js';
import type { HostileKind, HostileRow } from './hostile-cases.js';

export interface Offender {
  prompt?: string;
  jobId?: string;
  kind?: TriggerKind | HostileKind;
  detail: string;
}

export interface PassCondition {
  name: string;
  ok: boolean;
  value: string;
}

export interface ChaosReport {
  config: Omit<ChaosConfig, 'log'>;
  submitted: Record<TriggerKind, number> & { total: number };
  /** Jobs of every submission, the hostile ones' included. */
  accepted: number;
  /** One row per class of hostile submission; `expectedJobs` of all rows add to accepted - submitted.total. */
  hostile: HostileRow[];
  statuses: Record<string, number>;
  failedByCode: Record<string, number>;
  timedOutByCode: Record<string, number>;
  /** Up to 3 jobs per error code, with the message: what each code looked like in this run. */
  errorExamples: Record<string, Offender[]>;
  cancelled: number;
  /** Jobs not terminal at the end (after the sweep and its settling time). */
  nonTerminal: Offender[];
  /** Jobs not terminal when the waiting stopped, before the sweeper ran. */
  nonTerminalBeforeSweep: number;
  lost: Offender[];
  duplicated: Offender[];
  /** Jobs listed that no submission (normal or hostile) accounts for. */
  strays: Offender[];
  submissionProblems: Offender[];
  providerTasks: {
    total: number;
    /** Tasks per job, matched by prompt: how many jobs had 0, 1, 2... tasks. */
    perJob: Record<string, number>;
    maxPerJob: number;
    offenders: Offender[];
    /** Tasks whose prompt is no submission's. */
    orphans: number;
  };
  intact: { succeeded: number; intact: number; offenders: Offender[] };
  events: { total: number; terminalJobs: number; exactlyOne: number; offenders: Offender[] };
  idempotentRetries: { sent: number; sameJob: number };
  batch: { runs: number; errors: string[]; manifests: number; startedFromManifests: number };
  sweeper: { report?: SweepReport; error?: string };
  deliveryFailures: string[];
  /** The AWS calls the functions and the state machine made, and those their role in the template would deny. */
  access: { calls: number; denials: string[] };
  injected: { simulator: SimulatorStats; chaos: ChaosStats; duplicatedS3Deliveries: number };
  timings: { submitSeconds: number; allStartedSeconds: number; settledSeconds: number; wallSeconds: number };
  pass: PassCondition[];
  ok: boolean;
}
