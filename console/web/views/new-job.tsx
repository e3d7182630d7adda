import type { ComponentChildren } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, call, describeError, type FieldIssue } from '../api.js';
import { useAnnounce } from '../announcer.js';
import { useContract, type Contract } from '../contract.js';
import { links, navigate } from '../route.js';

interface ImageRow {
  id: number;
  source: 'file' | 'url';
  url: string;
  fileName?: string;
  role: string;
}

/** Field ids the API's issue paths map to; each is also the id of its input. */
const TOP_LEVEL_FIELDS = ['model', 'ratio', 'resolution', 'duration', 'generate_audio', 'watermark', 'priority'] as const;

type Errors = Record<string, string[]>;

function readAsDataUri(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error ?? new Error(`cannot read ${file.name}`));
    reader.readAsDataURL(file);
  });
}

/**
 * Where an issue of the API belongs: `content[2].image_url.url` names the URL of the image that body
 * item came from, `duration` the duration input. Undefined: shown in the summary only.
 */
function fieldOfIssue(path: string, contentFields: readonly string[]): string | undefined {
  const item = /^content\[(\d+)\](?:\.(.+))?$/.exec(path);
  if (item) {
    const field = contentFields[Number(item[1])];
    if (!field || field === 'prompt') return field;
    const rest = item[2] ?? '';
    if (rest === 'role') return `${field}-role`;
    return `${field}-url`;
  }
  return (TOP_LEVEL_FIELDS as readonly string[]).includes(path) ? path : undefined;
}

function ErrorText({ id, errors }: { id: string; errors: Errors }) {
  const messages = errors[id];
  return messages ? (
    <p class="field-error" id={`${id}-error`}>
      {messages.join('; ')}
    </p>
  ) : null;
}

/** aria-describedby and aria-invalid of an input: its hint, then its error when it has one. */
function described(id: string, errors: Errors, hint = false) {
  const ids = [hint ? `${id}-hint` : '', errors[id] ? `${id}-error` : ''].filter(Boolean).join(' ');
  return { id, 'aria-describedby': ids || undefined, 'aria-invalid': errors[id] ? true : undefined };
}

function Labelled({ id, label, children, errors, hint }: { id: string; label: string; children: ComponentChildren; errors: Errors; hint?: string }) {
  return (
    <div class={`field${errors[id] ? ' invalid' : ''}`}>
      <label for={id}>{label}</label>
      {hint && (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {children}
      <ErrorText id={id} errors={errors} />
    </div>
  );
}

function Form({ contract }: { contract: Contract }) {
  const announce = useAnnounce();
  const [prompt, setPrompt] = useState('');
  const [images, setImages] = useState<ImageRow[]>([]);
  const [ratio, setRatio] = useState(contract.defaults.ratio);
  const [resolution, setResolution] = useState(contract.defaults.resolution);
  const [duration, setDuration] = useState(String(contract.duration.default));
  const [audio, setAudio] = useState(contract.defaults.generateAudio);
  const [watermark, setWatermark] = useState(contract.defaults.watermark);
  const [priority, setPriority] = useState('');
  const [errors, setErrors] = useState<Errors>({});
  const [summary, setSummary] = useState<{ title: string; issues: (FieldIssue & { field?: string })[] }>();
  const [submitting, setSubmitting] = useState(false);
  const summaryRef = useRef<HTMLDivElement>(null);
  const nextRow = useRef(1);
  const focusAfterRender = useRef<string | undefined>(undefined);
  // One key per form: a retry after a lost answer finds the job the first attempt made.
  const idempotencyKey = useMemo(() => `console-${crypto.randomUUID()}`, []);

  useEffect(() => {
    if (summary) summaryRef.current?.focus();
  }, [summary]);
  useEffect(() => {
    if (focusAfterRender.current) document.getElementById(focusAfterRender.current)?.focus();
    focusAfterRender.current = undefined;
  });

  const roleFor = (index: number) => (index === 0 ? 'first_frame' : index === 1 ? 'last_frame' : 'reference_image');
  const addRows = (rows: Omit<ImageRow, 'id' | 'role'>[]) =>
    setImages((current) => [...current, ...rows.map((row, index) => ({ ...row, id: nextRow.current++, role: roleFor(current.length + index) }))]);
  const update = (id: number, change: Partial<ImageRow>) => setImages((current) => current.map((row) => (row.id === id ? { ...row, ...change } : row)));

  const addFiles = async (input: HTMLInputElement) => {
    const files = [...(input.files ?? [])];
    input.value = '';
    try {
      addRows(await Promise.all(files.map(async (file) => ({ source: 'file' as const, url: await readAsDataUri(file), fileName: file.name }))));
      announce(`${files.length} ${files.length === 1 ? 'image' : 'images'} added`);
    } catch (error) {
      setSummary({ title: 'An image could not be read', issues: [{ path: 'image', message: describeError(error) }] });
    }
  };

  const addUrl = () => {
    focusAfterRender.current = `image-${nextRow.current}-url`;
    addRows([{ source: 'url', url: '' }]);
  };

  const submit = async (event: Event) => {
    event.preventDefault();
    // The body item each content index came from, so the API's issue paths find their inputs.
    const contentFields: string[] = [];
    const content: unknown[] = [];
    if (prompt !== '' || images.length === 0) {
      contentFields.push('prompt');
      content.push({ type: 'text', text: prompt });
    }
    for (const row of images) {
      contentFields.push(`image-${row.id}`);
      content.push({ type: 'image_url', image_url: { url: row.url }, role: row.role });
    }
    const body = {
      model: contract.defaults.model,
      content,
      ratio,
      resolution,
      // What was typed, as a number when it is one: the API's message says what it must be.
      ...(duration.trim() === '' ? {} : { duration: /^-?\d+$/.test(duration.trim()) ? Number(duration) : duration }),
      generate_audio: audio,
      watermark,
      ...(priority ? { priority } : {}),
    };
    setSubmitting(true);
    try {
      const created = await call<{ jobId: string }>('POST', '/jobs', { body, headers: { 'idempotency-key': idempotencyKey } });
      announce(`Job ${created.jobId} created`);
      navigate(links.job(created.jobId));
    } catch (error) {
      const issues = error instanceof ApiError ? error.issues : [];
      const placed = issues.map((issue) => ({ ...issue, field: fieldOfIssue(issue.path, contentFields) }));
      const byField: Errors = {};
      for (const issue of placed) if (issue.field) (byField[issue.field] ??= []).push(issue.message);
      setErrors(byField);
      setSummary(
        issues.length > 0
          ? { title: `The API refused the job: ${issues.length} ${issues.length === 1 ? 'problem' : 'problems'}`, issues: placed }
          : { title: 'The job was not created', issues: [{ path: 'request', message: describeError(error) }] },
      );
    } finally {
      setSubmitting(false);
    }
  };

  const option = (value: string) => <option value={value}>{value}</option>;
  const { min, max, modelDecides } = contract.duration;

  return (
    // noValidate: the API is the one judge of a request, and its messages appear beside the fields.
    <form class="new-job" noValidate onSubmit={(event) => void submit(event)} aria-labelledby="new-title">
      {summary && (
        <div class="error-summary" role="alert" tabIndex={-1} ref={summaryRef} data-testid="error-summary">
          <h2>{summary.title}</h2>
          <ul>
            {summary.issues.map((issue) => (
              <li>
                {issue.field ? (
                  <button type="button" class="link" onClick={() => document.getElementById(issue.field!)?.focus()}>
                    {issue.path}
                  </button>
                ) : (
                  <code>{issue.path}</code>
                )}
                : {issue.message}
              </li>
            ))}
          </ul>
        </div>
      )}
      <Labelled id="prompt" label="Prompt" errors={errors} hint="What the video shows. Optional when images are given.">
        <textarea {...described('prompt', errors, true)} name="prompt" rows={4} value={prompt} onInput={(event) => setPrompt(event.currentTarget.value)} />
      </Labelled>

      <fieldset class="images">
        <legend>Images</legend>
        <p class="hint" id="images-hint">
          A file is sent inside the request as a data: URI; a URL must be https:// (or s3:// of the stack's bucket, under media/ or incoming/).
        </p>
        {images.map((row, index) => (
          <div class={`image-row${errors[`image-${row.id}-url`] || errors[`image-${row.id}-role`] ? ' invalid' : ''}`} key={row.id} data-row={index + 1}>
            {row.source === 'file' ? (
              <div class="field">
                <img class="thumb" src={row.url} alt={`Image ${index + 1}: ${row.fileName ?? 'file'}`} />
                <span id={`image-${row.id}-url`} tabIndex={-1}>
                  {row.fileName}
                </span>
                <ErrorText id={`image-${row.id}-url`} errors={errors} />
              </div>
            ) : (
              <Labelled id={`image-${row.id}-url`} label={`Image ${index + 1} URL`} errors={errors}>
                <input
                  {...described(`image-${row.id}-url`, errors)}
                  type="url"
                  value={row.url}
                  placeholder="https://example.com/first-frame.png"
                  onInput={(event) => update(row.id, { url: event.currentTarget.value })}
                />
              </Labelled>
            )}
            <Labelled id={`image-${row.id}-role`} label={`Image ${index + 1} role`} errors={errors}>
              <select {...described(`image-${row.id}-role`, errors)} value={row.role} onChange={(event) => update(row.id, { role: event.currentTarget.value })}>
                {contract.imageRoles.map(option)}
              </select>
            </Labelled>
            <button type="button" onClick={() => setImages((current) => current.filter((other) => other.id !== row.id))}>
              Remove image {index + 1}
            </button>
          </div>
        ))}
        <div class="image-add">
          <div class="field">
            <label for="image-files">Add images from files</label>
            <input
              id="image-files"
              type="file"
              accept="image/*"
              multiple
              aria-describedby="images-hint"
              onChange={(event) => void addFiles(event.currentTarget)}
            />
          </div>
          <button type="button" onClick={addUrl}>
            Add an image by URL
          </button>
        </div>
      </fieldset>

      <div class="field-grid">
        <Labelled id="ratio" label="Ratio" errors={errors}>
          <select {...described('ratio', errors)} value={ratio} onChange={(event) => setRatio(event.currentTarget.value)}>
            {contract.ratios.map(option)}
          </select>
        </Labelled>
        <Labelled id="resolution" label="Resolution" errors={errors}>
          <select {...described('resolution', errors)} value={resolution} onChange={(event) => setResolution(event.currentTarget.value)}>
            {contract.resolutions.map(option)}
          </select>
        </Labelled>
        <Labelled
          id="duration"
          label="Duration (seconds)"
          errors={errors}
          hint={`${min} to ${max}${modelDecides !== undefined ? `, or ${modelDecides}: the model decides` : ''}`}
        >
          <input
            {...described('duration', errors, true)}
            type="text"
            inputMode="numeric"
            value={duration}
            onInput={(event) => setDuration(event.currentTarget.value)}
          />
        </Labelled>
        <Labelled id="priority" label="Lane in the line" errors={errors}>
          <select {...described('priority', errors)} value={priority} onChange={(event) => setPriority(event.currentTarget.value)}>
            <option value="">default for its trigger</option>
            {contract.priorities.map(option)}
          </select>
        </Labelled>
      </div>
      <div class="checks">
        <div class="field check">
          <input {...described('generate_audio', errors)} type="checkbox" checked={audio} onChange={(event) => setAudio(event.currentTarget.checked)} />
          <label for="generate_audio">Audio</label>
          <ErrorText id="generate_audio" errors={errors} />
        </div>
        <div class="field check">
          <input {...described('watermark', errors)} type="checkbox" checked={watermark} onChange={(event) => setWatermark(event.currentTarget.checked)} />
          <label for="watermark">Watermark</label>
          <ErrorText id="watermark" errors={errors} />
        </div>
      </div>
      <div class="actions">
        <button type="submit" class="primary" disabled={submitting}>
          {submitting ? 'Submitting…' : 'Create job'}
        </button>
      </div>
    </form>
  );
}

export function NewJob() {
  const { contract, error } = useContract();
  return (
    <section aria-labelledby="new-title">
      <h1 id="new-title" tabIndex={-1}>
        New job
      </h1>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {!contract && !error && <p>Reading the API's contract…</p>}
      {contract && <Form contract={contract} />}
    </section>
  );
}
