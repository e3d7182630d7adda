import { passOnAndAdmit, type DispatchDeps, type DispatchReport } from './dispatch.js';
import * as z from '../domain/zod.js';

/**
 * The workflow's word that a job's provider task ended (its FreeSlot state, on the poll that found
 * the video): the provider counts the task no more, so its slot is free while the video is still
 * being copied. The end of the execution comes later and finds the slot given back already.
 */
export const taskEndedEventSchema = z.object({
  detail: z.object({
    jobId: z.string().check(z.minLength(1)),
    execution: z.string().check(z.minLength(1)),
  }),
});

export interface TaskEnded {
  jobId: string;
  /** The execution that saw the task end: only its own hold on the slot is given back. */
  execution: string;
}

export interface TaskEndedReport {
  released: boolean;
  dispatch: DispatchReport;
}

export function taskEndedOf(event: unknown): TaskEnded {
  return taskEndedEventSchema.parse(event).detail;
}

/**
 * Passes the slot on to the head of the line, or gives it back, if that execution still holds it (a
 * repeated delivery, or one that arrives after the sweeper moved the slot to a resume, frees
 * nothing), and starts any other waiting jobs while slots are free.
 */
export async function onTaskEnded(ended: TaskEnded, deps: DispatchDeps): Promise<TaskEndedReport> {
  return passOnAndAdmit(ended.jobId, ended.execution, deps);
}
