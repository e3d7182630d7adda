/** The help of each command: printed by `--help`, and after a usage error. */

const TARGET = `Target: the local stack \`npm start\` runs (read from <LOCAL_DATA_DIR or .local>/stack.json), or a
deployed API with --api <url> (or VIDEO_PIPELINE_API), every request signed with SigV4 (IAM auth).`;

export const USAGE = {
  generate: `usage: video-pipeline generate <prompt> [--image file|url ...] [--video file|url ...] [--audio file|url ...]
         [--ratio 16:9|4:3|1:1|3:4|9:16|21:9|adaptive] [--resolution 480p|720p] [--duration -1|4..15]
         [--no-audio] [--watermark] [--web-search] [--model name] [--idempotency-key key]
         [--wait [--out file|dir/]] [--api url] [--bucket name]
  Local media files are uploaded to the bucket as s3://<bucket>/media/<sha256>.<ext> (against a deployed
  API: --bucket or VIDEO_PIPELINE_BUCKET). One image alone is the first frame; several are references.
  --wait shows the progress and downloads the MP4 (default ./out/<jobId>.mp4).`,
  status: `usage: video-pipeline status <jobId> [--json] [--api url]`,
  list: `usage: video-pipeline list [--status QUEUED|SUBMITTED|RUNNING|SUCCEEDED|FAILED|TIMED_OUT|CANCELLED]
         [--trigger http|s3|schedule] [--limit N] [--json] [--api url]`,
  download: `usage: video-pipeline download <jobId> [--out file|dir/] [--api url]`,
  cancel: `usage: video-pipeline cancel <jobId> [--api url]`,
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
} as const;

export type CommandName = keyof typeof USAGE;

export const MAIN_USAGE = `usage: video-pipeline <command> [options]

Commands:
  generate <prompt>   submit a job (--wait: follow it and download the MP4)
  status <jobId>      show a job (--json: the raw record)
  list                list jobs, newest first
  download <jobId>    download a finished job's MP4
  cancel <jobId>      cancel a job
  console             the web console of a deployed stack, on 127.0.0.1
  webhook-secret      print the whsec_ secret webhook receivers verify deliveries with

${TARGET}

Exit codes: 0 ok · 1 the job ended FAILED, TIMED_OUT or CANCELLED (--wait) · 2 bad usage or refused by
the API (4xx) · 3 the API or local stack cannot be reached · 4 unexpected error.
Run \`video-pipeline <command> --help\` for a command's options.`;
