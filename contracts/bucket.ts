/**
 * The layout of the video bucket: which prefix holds what, and how each key is made. Infrastructure
 * grants, expires and routes by these prefixes; runtime reads and writes the keys built here.
 */

/** Uploads that start jobs: a `.json` job spec, or an image with a `prompt` in its metadata. */
export const UPLOAD_PREFIX = 'incoming/';
/** Where an upload that became a job moves to, under its own name. */
export const ACCEPTED_PREFIX = 'accepted/';
/** Where a refused upload moves to, under its own name, with its reason file beside it. */
export const REJECTED_PREFIX = 'rejected/';
/** The body of each job, as it was submitted. */
export const REQUEST_PREFIX = 'requests/';
/** JSONL manifests of batch jobs. */
export const MANIFEST_PREFIX = 'batches/';
/** Media users put in the bucket for their jobs' `s3://` URLs. */
export const MEDIA_PREFIX = 'media/';
/** Each image job's own copy of its image, `media/uploads/<jobId>/<file name>`: no later upload can change it. */
export const UPLOAD_MEDIA_PREFIX = `${MEDIA_PREFIX}uploads/`;
/** The finished videos. */
export const VIDEO_PREFIX = 'videos/';

/**
 * Where `s3://` media of our bucket may live: what users upload for jobs. Everything else in the
 * bucket (request bodies, other jobs' videos, manifests, refused uploads) is the pipeline's own, and
 * a presigned URL must never hand it to the provider.
 */
export const MEDIA_PREFIXES = [MEDIA_PREFIX, UPLOAD_PREFIX] as const;

/**
 * Where one request body of a job is kept. The key names the body's hash as well as the job, so two
 * submissions racing for the same job id (one Idempotency-Key, one S3 object, one manifest line) each
 * write their own object before either knows who wins the job's conditional create: the loser's body
 * can never replace the winner's, and the job record points at the winner's. A loser's object is left
 * to the bucket's expiry rule for requests/.
 */
export function requestKeyFor(jobId: string, requestHash: string): string {
  return `${REQUEST_PREFIX}${jobId}/${requestHash}.json`;
}

/** Deterministic so a retried copy overwrites instead of leaving a second object. */
export function videoKeyFor(jobId: string, submittedAt: Date): string {
  const yyyy = submittedAt.getUTCFullYear();
  const mm = String(submittedAt.getUTCMonth() + 1).padStart(2, '0');
  const dd = String(submittedAt.getUTCDate()).padStart(2, '0');
  return `${VIDEO_PREFIX}${yyyy}/${mm}/${dd}/${jobId}.mp4`;
}

/** The keys one upload (a key under UPLOAD_PREFIX) moves to, and an image job's copy of its image. */
export interface UploadKeys {
  acceptedKey: string;
  rejectedKey: string;
  /** Beside the upload in rejected/, named by its version: the reasons of two versions never overwrite each other. */
  reasonKey: string;
  /** An image job's own copy of the image. */
  mediaKey: string;
}

/** `version` is the upload's version id on a versioned bucket, else its ETag. */
export function uploadKeysFor(uploadKey: string, version: string, jobId: string): UploadKeys {
  const relative = uploadKey.slice(UPLOAD_PREFIX.length);
  return {
    acceptedKey: `${ACCEPTED_PREFIX}${relative}`,
    rejectedKey: `${REJECTED_PREFIX}${relative}`,
    reasonKey: `${REJECTED_PREFIX}${relative}.${version}.reason.json`,
    mediaKey: `${UPLOAD_MEDIA_PREFIX}${jobId}/${relative.slice(relative.lastIndexOf('/') + 1)}`,
  };
}
