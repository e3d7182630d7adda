import cliProgress from 'cli-progress';
import { timeLeft } from './format.js';

export interface ProgressState {
  status: string;
  progress: number;
  /** The job's estimatedFinishAt, while its provider task runs. */
  estimatedFinishAt?: string;
}

/** How `--wait` shows a job moving: a live bar on a terminal, a line per change otherwise (logs, CI). */
export interface ProgressView {
  update(state: ProgressState): void;
  /** Ends the live display; what is printed next starts on its own line. */
  stop(): void;
}

function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}

/** cli-progress: status, bar, percent and elapsed time, redrawn in place. */
function liveBar(stream: NodeJS.WriteStream): ProgressView {
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: '{status} |{bar}| {percentage}% | {duration_formatted} elapsed{left}',
      hideCursor: true,
      barsize: 30,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update({ status, progress, estimatedFinishAt }) {
      const left = timeLeft(estimatedFinishAt);
      const payload = { status: status.padEnd(9), left: left ? ` | ${left}` : '' };
      if (!started) {
        bar.start(100, progress, payload);
        started = true;
      } else bar.update(progress, payload);
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}

/** One line whenever the status or the percentage changes: `   1.3 s  RUNNING    50%`. */
function lines(stream: NodeJS.WritableStream, since: number): ProgressView {
  let last = '';
  return {
    update({ status, progress, estimatedFinishAt }) {
      const line = `${status.padEnd(9)} ${String(progress).padStart(3)}%`;
      if (line === last) return;
      last = line;
      const left = timeLeft(estimatedFinishAt);
      stream.write(`${seconds(since).padStart(8)}  ${line}${left ? `  (${left})` : ''}\n`);
    },
    stop() {},
  };
}

export function progressView(stream: NodeJS.WriteStream = process.stderr, since: number = Date.now()): ProgressView {
  return stream.isTTY ? liveBar(stream) : lines(stream, since);
}
