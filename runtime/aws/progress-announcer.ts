import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { EVENT_SOURCE, JOB_PROGRESS_DETAIL_TYPE, JOB_STARTED_DETAIL_TYPE } from '../../contracts/events.js';
import { EventNotPublishedError } from '../domain/errors.js';
import type { JobStatus } from '../domain/job.js';

/** What `started` and `progress` webhooks are made from (infra/constructs/webhook-delivery.ts's rule). */
export interface ProgressAnnouncer {
  /** The provider accepted the job's task: `Job Started`. */
  started(jobId: string): Promise<void>;
  /** The job's status or progress changed: `Job Progress`. */
  progressed(jobId: string, status: JobStatus, progress: number): Promise<void>;
}

export function createProgressAnnouncer(eventBridge: EventBridgeClient, eventBusName: string): ProgressAnnouncer {
  const publish = async (detailType: string, detail: { jobId: string; status: JobStatus; progress: number }) => {
    const answer = await eventBridge.send(
      new PutEventsCommand({ Entries: [{ EventBusName: eventBusName, Source: EVENT_SOURCE, DetailType: detailType, Detail: JSON.stringify(detail) }] }),
    );
    if ((answer.FailedEntryCount ?? 0) > 0) {
      const refused = answer.Entries?.[0];
      throw new EventNotPublishedError(`${detailType} for job ${detail.jobId} was refused: ${refused?.ErrorCode}: ${refused?.ErrorMessage}`);
    }
  };
  return {
    started: (jobId) => publish(JOB_STARTED_DETAIL_TYPE, { jobId, status: 'SUBMITTED', progress: 0 }),
    progressed: (jobId, status, progress) => publish(JOB_PROGRESS_DETAIL_TYPE, { jobId, status, progress }),
  };
}
