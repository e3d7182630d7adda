import { createRequire } from 'node:module';
import { FRAMES_PER_SECOND, type VideoSpec } from './video-spec.js';

/**
 * What a simulated video looks like, as an ffmpeg command line. A person should be able to check the
 * request by eye: the first-frame image fills the frame (cropped to the requested ratio) and drifts
 * slowly, a timecode runs in the corner, the last-frame image fades in at the end, and the prompt is
 * a caption. Without a usable first frame the picture is a flat colour (noise sources make files 10×
 * larger), with the reason drawn on it when an image could not be used.
 */

/** Where the renderer put the files the command reads; every text has been laid out in lines already. */
export interface RenderFiles {
  firstFrame?: string;
  lastFrame?: string;
  caption?: string;
  note?: string;
}

// Without an explicit font file drawtext fails on machines with no fontconfig fonts.
const FONT_FILE = createRequire(import.meta.url).resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf');
const BACKGROUND = '0x264653';
const WATERMARK_TEXT = 'AI generated';
const TEXT_BOX = { box: 1, boxcolor: 'black@0.55', fontcolor: 'white' };
/**
 * The image is scaled to cover a frame this much larger than the output, and the output window moves
 * across the spare edge during the clip: about a pixel a frame for a 5 s clip. A moving crop costs
 * next to nothing, where ffmpeg's zoompan rescales every frame and jitters at slow zooms.
 */
const PAN_OVERSCAN = 1.08;
/** The last frame fades in over this long and then holds, so the clip really ends on it. */
const LAST_FRAME_FADE_SECONDS = 1;
const LAST_FRAME_HOLD_SECONDS = 0.25;

const CAPTION_MAX_LINES = 3;
const NOTE_MAX_LINES = 4;
/** DejaVu Sans averages a little over half an em per character. */
const CHAR_WIDTH_EM = 0.55;

const captionFontSize = (height: number) => Math.round(height / 24);
const noteFontSize = (height: number) => Math.round(height / 30);
const margin = (height: number) => Math.round(height / 36);
const even = (value: number) => Math.round(value / 2) * 2;

/** drawtext does not wrap, so text is broken into lines here (90 % of the width) and cut with an ellipsis. */
function layoutText(text: string, spec: VideoSpec, fontSize: number, maxLines: number): string {
  const maxChars = Math.max(8, Math.floor((spec.width * 0.9) / (fontSize * CHAR_WIDTH_EM)));
  const chunk = new RegExp(`.{1,${maxChars}}`, 'gu');
  const words = text.split(/\s+/).flatMap((word) => word.match(chunk) ?? []);
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

/** The prompt as caption lines; empty when there is no prompt. */
export function captionText(spec: VideoSpec): string {
  return layoutText(spec.prompt, spec, captionFontSize(spec.height), CAPTION_MAX_LINES);
}

/** Why images are missing, one note a line. */
export function noteText(spec: VideoSpec, notes: readonly string[]): string {
  return notes.map((note) => layoutText(note, spec, noteFontSize(spec.height), NOTE_MAX_LINES)).join('\n');
}

/**
 * Escapes a value for a filter option inside a filtergraph: first for the option parser (`\ ' :`),
 * then for the graph parser (`\ ' [ ] , ;`). Only paths and fixed strings go through here; user
 * text never enters the filter string at all (it is read from files with expansion off).
 */
function filterValue(value: string): string {
  return value.replace(/[\\':]/g, '\\$&').replace(/[\\'[\],;]/g, '\\$&');
}

function drawtext(options: Record<string, string | number>): string {
  return `drawtext=${Object.entries({ fontfile: filterValue(FONT_FILE), ...options })
    .map(([key, value]) => `${key}=${value}`)
    .join(':')}`;
}

/**
 * The picture, looped from one decoded image (decoded and scaled once, not once a frame), then
 * panned: the window starts up and left of the centre and ends down and right of it, by the
 * overscan only, so an image of another aspect than the frame still shows its middle.
 */
function pannedImage(input: string, spec: VideoSpec): string {
  const { width, height, durationSeconds: seconds } = spec;
  const [coverWidth, coverHeight] = [even(width * PAN_OVERSCAN), even(height * PAN_OVERSCAN)];
  const drift = (inner: string, outer: string, spare: number) => `'(${inner}-${outer})/2+${spare}*(t/${seconds}-0.5)'`;
  return [
    `[${input}]scale=${coverWidth}:${coverHeight}:force_original_aspect_ratio=increase`,
    'setsar=1',
    'format=yuv420p',
    'loop=loop=-1:size=1',
    `setpts=N/(${FRAMES_PER_SECOND}*TB)`,
    `crop=${width}:${height}:x=${drift('iw', 'ow', coverWidth - width)}:y=${drift('ih', 'oh', coverHeight - height)}`,
  ].join(',');
}

/** The last frame, filling the frame, transparent until the fade starts a little before the end. */
function fadingLastFrame(input: string, spec: VideoSpec): string {
  const { width, height, durationSeconds: seconds } = spec;
  const fadeStart = Math.max(0, seconds - LAST_FRAME_HOLD_SECONDS - LAST_FRAME_FADE_SECONDS);
  return [
    `[${input}]scale=${width}:${height}:force_original_aspect_ratio=increase`,
    `crop=${width}:${height}`,
    'setsar=1',
    'format=yuva420p',
    'loop=loop=-1:size=1',
    // Its frames start at the fade, so the frames before it are not blended at all.
    `setpts=N/(${FRAMES_PER_SECOND}*TB)+${fadeStart}/TB`,
    `fade=t=in:st=${fadeStart}:d=${LAST_FRAME_FADE_SECONDS}:alpha=1`,
  ].join(',');
}

/** Lines of text read from a file, centred, on a dark box; `y` is an ffmpeg expression of h and text_h. */
function textBlock(file: string, fontSize: number, height: number, y: string): string {
  return drawtext({
    ...TEXT_BOX,
    textfile: filterValue(file),
    expansion: 'none',
    fontsize: fontSize,
    boxborderw: Math.round(height / 60),
    line_spacing: Math.round(height / 90),
    x: '(w-text_w)/2',
    y,
  });
}

function overlays(spec: VideoSpec, files: RenderFiles): string[] {
  const { height } = spec;
  const filters = [
    // SMPTE hh:mm:ss:ff, so a person sees the clip run and where it ends.
    drawtext({
      ...TEXT_BOX,
      timecode: filterValue('00:00:00:00'),
      rate: FRAMES_PER_SECOND,
      fontsize: captionFontSize(height),
      boxborderw: Math.round(height / 120),
      x: margin(height),
      y: margin(height),
    }),
  ];
  if (files.note) filters.push(textBlock(files.note, noteFontSize(height), height, '(h-text_h)/3'));
  // The caption's bottom stays clear of the watermark's line.
  if (files.caption) filters.push(textBlock(files.caption, captionFontSize(height), height, `h-text_h-${Math.round(height / 8)}`));
  if (spec.watermark) {
    filters.push(
      drawtext({
        text: filterValue(WATERMARK_TEXT),
        fontsize: Math.round(height / 24),
        fontcolor: 'white@0.8',
        x: `w-text_w-${margin(height)}`,
        y: `h-text_h-${margin(height)}`,
      }),
    );
  }
  return filters;
}

/**
 * An image file as an input: image2 would read `%d` in a path as a frame-number pattern, and the
 * data folder is the user's to name.
 */
const imageInput = (file: string) => ['-f', 'image2', '-pattern_type', 'none', '-i', file];

export function ffmpegArgs(spec: VideoSpec, files: RenderFiles, outputFile: string): string[] {
  const { width, height, durationSeconds: seconds } = spec;
  const inputs: string[][] = [];
  const graph: string[] = [];

  inputs.push(files.firstFrame ? imageInput(files.firstFrame) : ['-f', 'lavfi', '-i', `color=c=${BACKGROUND}:s=${width}x${height}:r=${FRAMES_PER_SECOND}`]);
  graph.push(files.firstFrame ? `${pannedImage('0:v', spec)}[picture]` : '[0:v]null[picture]');
  let picture = 'picture';
  if (files.lastFrame) {
    inputs.push(imageInput(files.lastFrame));
    graph.push(`${fadingLastFrame(`${inputs.length - 1}:v`, spec)}[last]`, '[picture][last]overlay[ending]');
    picture = 'ending';
  }
  graph.push(`[${picture}]${overlays(spec, files).join(',')}[video]`);
  if (spec.audio) inputs.push(['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`]);

  return [
    ...['-hide_banner', '-nostdin', '-loglevel', 'error', '-y'],
    ...inputs.flat(),
    ...['-filter_complex', graph.join(';'), '-map', '[video]'],
    ...(spec.audio ? ['-map', `${inputs.length - 1}:a`, '-c:a', 'aac', '-b:a', '96k'] : ['-an']),
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-r', String(FRAMES_PER_SECOND)],
    // The image and colour sources never end: -t cuts the clip at the requested duration. An MP4
    // cannot be written to a pipe; faststart moves the index up front so players can start (and
    // seek with Range) before the whole file arrived.
    ...['-t', String(seconds), '-movflags', '+faststart', '-f', 'mp4', outputFile],
  ];
}
