import { spawn } from 'node:child_process';
import { rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { FRAMES_PER_SECOND, type VideoSpec } from './video-spec.js';

/**
 * Renders a real MP4 for a task with ffmpeg: a flat colour (noise sources make files 10× larger),
 * the prompt and optionally a watermark drawn on it, and a sine tone when the request asked for audio.
 */

// Without an explicit font file drawtext fails on machines with no fontconfig fonts.
const FONT_FILE = createRequire(import.meta.url).resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf');
const BACKGROUND = '0x264653';
const WATERMARK_TEXT = 'AI generated';
const PROMPT_MAX_LINES = 6;
/** DejaVu Sans averages a little over half an em per character. */
const CHAR_WIDTH_EM = 0.55;
const STDERR_TAIL_CHARS = 2_000;
/**
 * At most this many ffmpeg processes run at once: a burst of creates would otherwise start one
 * encoder each and starve the machine. Queued renders simply finish later, and their tasks stay
 * IN_PROGRESS until they do.
 */
const RENDER_SLOTS = availableParallelism();

const promptFontSize = (height: number) => Math.round(height / 16);

export async function defaultFfmpegPath(): Promise<string> {
  if (process.env.FFMPEG_PATH) return process.env.FFMPEG_PATH;
  // Imported lazily: the package throws at import time on a platform it has no binary for.
  const installer = await import('@ffmpeg-installer/ffmpeg');
  return installer.default.path;
}

/**
 * Escapes a value for a filter option inside a filtergraph: first for the option parser (`\ ' :`),
 * then for the graph parser (`\ ' [ ] , ;`). Only paths go through here; user text never enters
 * the filter string at all.
 */
function filterValue(value: string): string {
  return value.replace(/[\\':]/g, '\\$&').replace(/[\\'[\],;]/g, '\\$&');
}

/** drawtext does not wrap, so long prompts are broken into lines here and cut with an ellipsis. */
function layoutPrompt(prompt: string, maxChars: number, maxLines: number): string {
  const chunk = new RegExp(`.{1,${maxChars}}`, 'gu');
  const words = prompt.split(/\s+/).flatMap((word) => word.match(chunk) ?? []);
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
    if (line && line.length + 1 + word.length > maxChars) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  if (lines.length <= maxLines) return lines.join('\n');
  const kept = lines.slice(0, maxLines);
  kept[maxLines - 1] = `${kept[maxLines - 1]!.slice(0, maxChars - 1)}…`;
  return kept.join('\n');
}

function drawtext(options: Record<string, string | number>): string {
  return `drawtext=${Object.entries(options)
    .map(([key, value]) => `${key}=${value}`)
    .join(':')}`;
}

function ffmpegArgs(spec: VideoSpec, promptFile: string | undefined, outputFile: string): string[] {
  const { width, height, durationSeconds: seconds } = spec;
  const font = filterValue(FONT_FILE);
  const filters: string[] = [];
  if (promptFile) {
    filters.push(
      drawtext({
        fontfile: font,
        textfile: filterValue(promptFile),
        expansion: 'none',
        fontsize: promptFontSize(height),
        fontcolor: 'white',
        line_spacing: Math.round(height / 60),
        x: '(w-text_w)/2',
        y: '(h-text_h)/2',
      }),
    );
  }
  if (spec.watermark) {
    filters.push(
      drawtext({
        fontfile: font,
        text: filterValue(WATERMARK_TEXT),
        fontsize: Math.round(height / 24),
        fontcolor: 'white@0.8',
        x: `w-text_w-${Math.round(height / 36)}`,
        y: `h-text_h-${Math.round(height / 36)}`,
      }),
    );
  }
  return [
    ...['-hide_banner', '-nostdin', '-loglevel', 'error', '-y'],
    ...['-f', 'lavfi', '-i', `color=c=${BACKGROUND}:s=${width}x${height}:r=${FRAMES_PER_SECOND}:d=${seconds}`],
    ...(spec.audio ? ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`] : []),
    ...(filters.length > 0 ? ['-vf', filters.join(',')] : []),
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-r', String(FRAMES_PER_SECOND)],
    ...(spec.audio ? ['-c:a', 'aac', '-b:a', '96k'] : ['-an']),
    // An MP4 cannot be written to a pipe; faststart moves the index up front so players can
    // start (and seek with Range) before the whole file arrived.
    ...['-t', String(seconds), '-movflags', '+faststart', '-f', 'mp4', outputFile],
  ];
}

function runFfmpeg(ffmpegPath: string, args: string[], signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpegPath, args, { stdio: ['ignore', 'ignore', 'pipe'], signal, killSignal: 'SIGKILL' });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS);
    });
    child.on('error', reject);
    child.on('close', (code, killedBy) => {
      if (code === 0) resolve();
      else reject(new Error(`ffmpeg exited with ${killedBy ?? `code ${code}`}: ${stderr.trim() || '(no output)'}`));
    });
  });
}

export interface Renderer {
  /** Writes the clip to `outputPath`, which appears only once complete (so it is never served half-written). */
  render(spec: VideoSpec, outputPath: string, signal: AbortSignal): Promise<void>;
}

export function createRenderer(ffmpegPath: string): Renderer {
  let running = 0;
  const waiting: (() => void)[] = [];
  const acquire = async () => {
    if (running >= RENDER_SLOTS) await new Promise<void>((resolve) => waiting.push(resolve));
    else running += 1;
  };
  // A freed slot passes straight to the next waiter, so `running` only drops when none waits.
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else running -= 1;
  };

  return {
    async render(spec, outputPath, signal) {
      await acquire();
      const promptFile = spec.prompt ? `${outputPath}.prompt.txt` : undefined;
      const partialFile = `${outputPath}.partial`;
      try {
        signal.throwIfAborted();
        if (promptFile) {
          const maxChars = Math.max(8, Math.floor((spec.width * 0.9) / (promptFontSize(spec.height) * CHAR_WIDTH_EM)));
          await writeFile(promptFile, layoutPrompt(spec.prompt, maxChars, PROMPT_MAX_LINES), 'utf8');
        }
        await runFfmpeg(ffmpegPath, ffmpegArgs(spec, promptFile, partialFile), signal);
        await rename(partialFile, outputPath);
      } finally {
        release();
        await Promise.all([promptFile, partialFile].flatMap((file) => (file ? [rm(file, { force: true })] : [])));
      }
    },
  };
}
