import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { COMPLETION_DETAIL_TYPES, EVENT_SOURCE, LATE_VIDEO_DETAIL_TYPE } from '../../contracts/events.js';
import { EventNotPublishedError } from '../domain/errors.js';
import type { JobRecord, JobStatus } from '../domain/job.js';

const DETAIL_TYPES: Partial<Record<JobStatus, string>> = COMPLETION_DETAIL_TYPES;

export interface JobAnnouncer {
  /** Publishes `Job Succeeded` / `Job Failed` / … for a job that ended; the detail is the record without its request. */
  announce(job: JobRecord): Promise<void>;
  /** Publishes `Job Late Video Stored` for a TIMED_OUT job whose video was stored after all. */
  announceLateVideo(job: JobRecord): Promise<void>;
}

export function completionEvent(job: JobRecord, eventBusName: string, lateVideo = false) {
  const detailType = lateVideo ? LATE_VIDEO_DETAIL_TYPE : DETAIL_TYPES[job.status];
  if (!detailType) throw new Error(`job ${job.jobId} is ${job.status}: only a job that ended is announced`);
  const {
    request: _request,
    requestKey: _requestKey,
    kind: _kind,
    requestHash: _requestHash,
    announcedAt: _announced,
    lateAnnouncedAt: _lateAnnounced,
    inLine: _inLine,
    lineKey: _lineKey,
    ...detail
  } = job;
  return {
    EventBusName: eventBusName,
    Source: EVENT_SOURCE,
    DetailType: detailType,
    Detail: JSON.stringify(detail),
    Resources: job.executionArn ? [job.executionArn] : [],
  };
}

export function createJobAnnouncer(eventBridge: EventBridgeClient, eventBusName: string): JobAnnouncer {
  const publish = async (job: JobRecord, lateVideo: boolean) => {
    const answer = await eventBridge.send(new PutEventsCommand({ Entries: [completionEvent(job, eventBusName, lateVideo)] }));
    const refused = answer.Entries?.[0];
    if ((answer.FailedEntryCount ?? 0) > 0) {
      throw new EventNotPublishedError(`the event for job ${job.jobId} was refused: ${refused?.ErrorCode}: ${refused?.ErrorMessage}`);
    }
  };
  return { announce: (job) => publish(job, false), announceLateVideo: (job) => publish(job, true) };
}
