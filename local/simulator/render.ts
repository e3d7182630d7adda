import { spawn } from 'node:child_process';
import { rename, rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { captionText, ffmpegArgs, noteText, type RenderFiles } from './ffmpeg-args.js';
import type { VideoSpec } from './video-spec.js';

/**
 * Runs ffmpeg for a task's video (what it looks like: ffmpeg-args.ts), a few at a time, and writes
 * the file so that it appears only once complete. When ffmpeg cannot use a request's image, the
 * video is rendered again without the images, and says why.
 */

const STDERR_TAIL_CHARS = 2_000;
/** How much of ffmpeg's complaint about an image goes into the note drawn on the video. */
const IMAGE_ERROR_CHARS = 160;
/**
 * At most this many ffmpeg processes run at once: a burst of creates would otherwise start one
 * encoder each and starve the machine. Queued renders simply finish later, and their tasks stay
 * IN_PROGRESS until they do.
 */
const RENDER_SLOTS = availableParallelism();

export async function defaultFfmpegPath(): Promise<string> {
  if (process.env.FFMPEG_PATH) return process.env.FFMPEG_PATH;
  // Imported lazily: the package throws at import time on a platform it has no binary for.
  const installer = await import('@ffmpeg-installer/ffmpeg');
  return installer.default.path;
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

export interface RenderedVideo {
  /** Set when ffmpeg could not use the request's images and the video was rendered without them. */
  imageNote?: string;
}

export interface Renderer {
  /**
   * Writes the clip to `outputPath`, which appears only once complete (so it is never served
   * half-written). The spec's image files are read from the folder of `outputPath`.
   */
  render(spec: VideoSpec, outputPath: string, signal: AbortSignal): Promise<RenderedVideo>;
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
      const folder = dirname(outputPath);
      const captionFile = `${outputPath}.caption.txt`;
      const noteFile = `${outputPath}.note.txt`;
      const partialFile = `${outputPath}.partial`;
      const encode = async (withImages: boolean, notes: readonly string[]) => {
        const caption = captionText(spec);
        if (caption) await writeFile(captionFile, caption, 'utf8');
        if (notes.length > 0) await writeFile(noteFile, noteText(spec, notes), 'utf8');
        const files: RenderFiles = {
          ...(withImages && spec.firstFrame ? { firstFrame: join(folder, spec.firstFrame) } : {}),
          ...(withImages && spec.lastFrame ? { lastFrame: join(folder, spec.lastFrame) } : {}),
          ...(caption ? { caption: captionFile } : {}),
          ...(notes.length > 0 ? { note: noteFile } : {}),
        };
        await runFfmpeg(ffmpegPath, ffmpegArgs(spec, files, partialFile), signal);
      };
      try {
        signal.throwIfAborted();
        const notes = spec.imageNotes ?? [];
        let imageNote: string | undefined;
        try {
          await encode(true, notes);
        } catch (error) {
          if (signal.aborted || (!spec.firstFrame && !spec.lastFrame)) throw error;
          const message = error instanceof Error ? error.message : String(error);
          // One line, without the decoder's memory addresses (`[png @ 0x…]`).
          const reason = message.replace(/ @ 0x[0-9a-f]+/g, '').replace(/\s+/g, ' ');
          imageNote = `images not shown: ffmpeg could not use them (${reason.slice(0, IMAGE_ERROR_CHARS)})`;
          await encode(false, [...notes, imageNote]);
        }
        await rename(partialFile, outputPath);
        return imageNote ? { imageNote } : {};
      } finally {
        release();
        await Promise.all([captionFile, noteFile, partialFile].map((file) => rm(file, { force: true })));
      }
    },
  };
}
