/** The help of each command: printed by `--help`, and after a usage error. */

const TARGET = `Target: the local stack \`npm start\` runs (read from <LOCAL_DATA_DIR or .local>/stack.json; when
LOCAL_DATA_DIR is not set, also the stack of this checkout on PORT, default 3000), or a deployed API with
--api <url> (or VIDEO_PIPELINE_API), every request signed with SigV4 (IAM auth).`;

export const USAGE = {
  generate: `usage: video-pipeline generate <prompt> [--image file|url ...] [--video file|url ...] [--audio file|url ...]
         [--ratio 16:9|4:3|1:1|3:4|9:16|21:9|adaptive] [--resolution 480p|720p] [--duration -1|4..15]
         [--no-audio] [--watermark] [--web-search] [--model name] [--idempotency-key key]
         [--wait [--out file|dir/]] [--api url] [--bucket name]
  Local media files are uploaded to the bucket as s3://<bucket>/media/<sha256>.<ext> (against a deployed
  API: --bucket or VIDEO_PIPELINE_BUCKET). One image alone is the first frame; several are references.
  --wait shows the progress and downloads the MP4 (default ./out/<jobId>.mp4).`,
  upload: `usage: video-pipeline upload <spec.json> [--api url] [--bucket name]
       video-pipeline upload <image.png|.jpg|.jpeg|.webp> --prompt text [--ratio r] [--duration d] [--resolution r] [--api url] [--bucket name]
  Puts the file under incoming/ of the bucket, where the upload trigger makes a job of it (README, "An
  upload under incoming/"), and prints that job. A spec is the body of POST /jobs; an image starts an
  image-to-video job with it as the first frame. A refused spec prints its issues (exit 2).`,
  batch: `usage: video-pipeline batch <manifest.jsonl> [--api url] [--bucket name]
  Puts the manifest under batches/, where its upload runs the batch function, and prints the job of
  each line (README, "Scheduled batches"). A refused line prints its error (exit 2).`,
  status: `usage: video-pipeline status <jobId> [--json] [--api url]`,
  list: `usage: video-pipeline list [--status QUEUED|SUBMITTED|RUNNING|SUCCEEDED|FAILED|TIMED_OUT|CANCELLED]
         [--trigger http|s3|schedule] [--limit N] [--json] [--api url]`,
  download: `usage: video-pipeline download <jobId> [--out file|dir/] [--api url]`,
  cancel: `usage: video-pipeline cancel <jobId> [--api url]`,
  rerun: `usage: video-pipeline rerun <jobId> [--idempotency-key key] [--wait [--out file|dir/]] [--api url]
  A new job from the stored request of <jobId> (its media, metadata and lane), linked both ways (rerunOf).
  --wait shows the progress and downloads the MP4 (default ./out/<newJobId>.mp4).`,
  'webhook-secret': `usage: video-pipeline webhook-secret [--api url [--secret-id name|arn]]
  Prints the secret webhook receivers verify deliveries with (whsec_…, Standard Webhooks). Local stack: the
  one in <LOCAL_DATA_DIR or .local>. Deployed: Secrets Manager's GetSecretValue with your AWS credentials, on
  --secret-id, else VIDEO_PIPELINE_WEBHOOK_SECRET, else video-pipeline/webhook-signing-secret (the stack's
  WebhookSecretArn output names it).`,
  console: `usage: video-pipeline console --api url [--port N]
  Serves the web console of a deployed stack on 127.0.0.1 (default: a free port) and signs its API calls
  with SigV4 from your AWS credentials. Open the address it prints: its #token is what the proxy asks for,
  so no other page or site can use your credentials through it. (The local stack's console is at
  npm start's API address.)`,
  token: `usage: video-pipeline token create [--name label] [--json] [--table name [--region r]]
       video-pipeline token list [--json] [--table name [--region r]]
       video-pipeline token revoke <tokenId> [--table name [--region r]]
  API tokens for the drop-in provider API (POST /v1/video/generations with Authorization: Bearer <token>).
  create prints the token once (only its SHA-256 is kept); revoke refuses it from its next request.
  Target: the local stack's Tokens table, or a deployed stack's with --table <TokensTableName output>
  (or VIDEO_PIPELINE_TOKENS_TABLE), reached with your AWS credentials (dynamodb:PutItem, Scan, UpdateItem).`,
} as const;

export type CommandName = keyof typeof USAGE;

export const MAIN_USAGE = `usage: video-pipeline <command> [options]

Commands:
  generate <prompt>   submit a job (--wait: follow it and download the MP4)
  upload <file>       upload a job spec, or an image with --prompt, under incoming/; prints the job
  batch <manifest>    upload a JSONL manifest under batches/ (it runs a batch); prints each line's job
  status <jobId>      show a job (--json: the raw record)
  list                list jobs, newest first
  download <jobId>    download a finished job's MP4
  cancel <jobId>      cancel a job
  rerun <jobId>       run a job again, from its stored request
  console             the web console of a deployed stack, on 127.0.0.1
  token create|list|revoke   API tokens for the drop-in provider API
  webhook-secret      print the whsec_ secret webhook receivers verify deliveries with

${TARGET}

Exit codes: 0 ok · 1 the job ended FAILED, TIMED_OUT or CANCELLED (--wait) · 2 bad usage or refused by
the API (4xx) · 3 the API or local stack cannot be reached · 4 unexpected error.
Run \`video-pipeline <command> --help\` for a command's options.`;
