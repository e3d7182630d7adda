import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { EventNotPublishedError } from './errors.js';
import type { JobRecord, JobStatus } from './job.js';

export const EVENT_SOURCE = 'video-pipeline';

const DETAIL_TYPES: Partial<Record<JobStatus, string>> = {
  SUCCEEDED: 'Job Succeeded',
  FAILED: 'Job Failed',
  TIMED_OUT: 'Job Timed Out',
  CANCELLED: 'Job Cancelled',
};

export interface JobAnnouncer {
  /** Publishes `Job Succeeded` / `Job Failed` / … for a job that ended; the detail is the record without its request. */
  announce(job: JobRecord): Promise<void>;
}

export function completionEvent(job: JobRecord, eventBusName: string) {
  const detailType = DETAIL_TYPES[job.status];
  if (!detailType) throw new Error(`job ${job.jobId} is ${job.status}: only a job that ended is announced`);
  const { request: _request, requestKey: _requestKey, kind: _kind, requestHash: _requestHash, announcedAt: _announced, ...detail } = job;
  return {
    EventBusName: eventBusName,
    Source: EVENT_SOURCE,
    DetailType: detailType,
    Detail: JSON.stringify(detail),
    Resources: job.executionArn ? [job.executionArn] : [],
  };
}

export function createJobAnnouncer(eventBridge: EventBridgeClient, eventBusName: string): JobAnnouncer {
  return {
    async announce(job) {
      const answer = await eventBridge.send(new PutEventsCommand({ Entries: [completionEvent(job, eventBusName)] }));
      const refused = answer.Entries?.[0];
      if ((answer.FailedEntryCount ?? 0) > 0) {
        throw new EventNotPublishedError(`the event for job ${job.jobId} was refused: ${refused?.ErrorCode}: ${refused?.ErrorMessage}`);
      }
    },
  };
}
