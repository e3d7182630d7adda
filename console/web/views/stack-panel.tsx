import { useEffect, useState } from 'preact/hooks';
import { ApiError, call, describeError } from '../api.js';
import { useAnnounce } from '../announcer.js';

/** GET /_local/stack: served by the local stack's HTTP API only (local/stack/console-routes.ts). */
interface LocalStackInfo {
  s3: { endpoint: string; bucket: string; region: string; accessKeyId: string; secretAccessKey: string; forcePathStyle: boolean };
}

function Snippet({ id, label, text }: { id: string; label: string; text: string }) {
  const announce = useAnnounce();
  const copy = () =>
    navigator.clipboard.writeText(text).then(
      () => announce(`${label}: copied`),
      () => announce(`${label}: the browser did not allow copying; select the text instead`),
    );
  return (
    <div class="snippet">
      <div class="snippet-head">
        <h3 id={`${id}-title`}>{label}</h3>
        <button type="button" onClick={() => void copy()} aria-describedby={`${id}-title`}>
          Copy
        </button>
      </div>
      <pre id={id} tabIndex={0} aria-labelledby={`${id}-title`}>
        {text}
      </pre>
    </div>
  );
}

export function StackPanel() {
  const [info, setInfo] = useState<LocalStackInfo>();
  const [state, setState] = useState<'loading' | 'local' | 'deployed' | 'error'>('loading');
  const [error, setError] = useState<string>();
  useEffect(() => {
    call<LocalStackInfo>('GET', '/_local/stack').then(
      (answer) => {
        setInfo(answer);
        setState('local');
      },
      (caught: unknown) => {
        // The console proxy of a deployed stack has no such route: there is no local S3 to show.
        if (caught instanceof ApiError && (caught.status === 404 || caught.status === 403)) setState('deployed');
        else {
          setError(describeError(caught));
          setState('error');
        }
      },
    );
  }, []);

  const s3 = info?.s3;
  return (
    <section aria-labelledby="stack-title">
      <h1 id="stack-title" tabIndex={-1}>
        Stack
      </h1>
      <dl class="fields">
        <dt>API</dt>
        <dd>
          <code>{location.origin}</code> (this page's origin: <code>/jobs</code>, <code>/openapi.json</code>)
        </dd>
      </dl>
      {state === 'loading' && <p>Asking the local stack…</p>}
      {state === 'error' && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {state === 'deployed' && (
        <p>
          This console talks to a deployed stack through <code>video-pipeline console</code>: its bucket is in the stack's outputs, and uploads use your own AWS
          credentials.
        </p>
      )}
      {s3 && (
        <>
          <h2>Local S3</h2>
          <dl class="fields">
            <dt>Endpoint</dt>
            <dd>
              <code data-testid="s3-endpoint">{s3.endpoint}</code>
            </dd>
            <dt>Bucket</dt>
            <dd>
              <code data-testid="s3-bucket">{s3.bucket}</code>
            </dd>
            <dt>Credentials</dt>
            <dd>
              <code>
                {s3.accessKeyId} / {s3.secretAccessKey}
              </code>
              , region <code>{s3.region}</code>, path-style addressing
            </dd>
          </dl>
          <Snippet
            id="snippet-env"
            label="Environment for the aws CLI"
            text={`export AWS_ACCESS_KEY_ID=${s3.accessKeyId} AWS_SECRET_ACCESS_KEY=${s3.secretAccessKey} AWS_DEFAULT_REGION=${s3.region}\nexport S3=${s3.endpoint} BUCKET=${s3.bucket}`}
          />
          <Snippet
            id="snippet-upload"
            label="Start a job by upload (incoming/)"
            text={'aws --endpoint-url $S3 s3 cp spec.json s3://$BUCKET/incoming/spec.json'}
          />
          <Snippet
            id="snippet-batch"
            label="Queue a manifest for the batch run (batches/)"
            text={'aws --endpoint-url $S3 s3 cp jobs.jsonl s3://$BUCKET/batches/jobs.jsonl'}
          />
        </>
      )}
    </section>
  );
}
