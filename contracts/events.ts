/**
 * The completion events on the pipeline's bus: users attach their own rules to them, by source and
 * detail-type, so these are part of the pipeline's public contract.
 */
export const EVENT_SOURCE = 'video-pipeline';

/** The detail-type of the event announcing a job that ended, by its final status. */
export const COMPLETION_DETAIL_TYPES = {
  SUCCEEDED: 'Job Succeeded',
  FAILED: 'Job Failed',
  TIMED_OUT: 'Job Timed Out',
  CANCELLED: 'Job Cancelled',
} as const;

/** A TIMED_OUT job whose provider task, followed past the deadline, made its video after all: it is stored now. */
export const LATE_VIDEO_DETAIL_TYPE = 'Job Late Video Stored';

/**
 * Internal, on the account's default bus: the workflow saw its job's provider task end (the poll that
 * found the video), so the job's admission slot is free before its video is copied. The admission
 * function gives the slot back and starts the next waiting job (runtime/admission/task-ended.ts).
 */
export const WORKFLOW_EVENT_SOURCE = 'video-pipeline.workflow';
export const TASK_ENDED_DETAIL_TYPE = 'Provider Task Ended';

/**
 * On the pipeline's bus beside the completion events: the provider accepted a job's task (`started`
 * webhooks), and a job's recorded progress changed (`progress` webhooks). Detail: jobId, status, progress.
 */
export const JOB_STARTED_DETAIL_TYPE = 'Job Started';
export const JOB_PROGRESS_DETAIL_TYPE = 'Job Progress';
