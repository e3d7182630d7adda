import type { createProviderRequestSchema } from '../../../runtime/domain/request-schema.js';
import type { FaultDice, FaultName, SimulatorFaults } from '../faults.js';
import type { SimulatorQuota } from '../quota.js';
import type { ResponseStyle } from '../responses.js';
import type { StatsCounter } from '../stats.js';
import type { SimulatedTask, TaskStore } from '../task-store.js';

/** What the routes share with the running simulator (server.ts): its tasks, settings and counters. */
export interface SimulatorContext {
  apiKey: string;
  schema: ReturnType<typeof createProviderRequestSchema>;
  /** The shape of poll answers. */
  style: ResponseStyle;
  store: TaskStore;
  stats: StatsCounter;
  dice: FaultDice;
  /** Aborted when the simulator stops: an answer held back stops waiting. */
  stopping: AbortSignal;
  /** The fault settings in force. */
  faults(): SimulatorFaults;
  /** Replaces the fault settings; throws SimulatorFaultsError when invalid. */
  setFaults(input: unknown): SimulatorFaults;
  quota(): SimulatorQuota;
  /** Throws SimulatorQuotaError when invalid. */
  setMaxActiveTasks(maxActiveTasks: number): SimulatorQuota;
  /** Where the task's MP4 is served. */
  videoUrl(id: string): string;
}

/** Counts an injected fault, and against its task when there is one. */
export function recordFault({ stats, store }: SimulatorContext, name: FaultName, task?: SimulatedTask): void {
  stats.fault(name);
  if (task) store.recordFault(task, name);
}
