import { RATIOS, type ProviderRequest } from '../../runtime/domain/request-schema.js';
import { frameImageUrl, keepFrameImages, type FrameImages } from './frame-images.js';
import type { ImageSize } from './image-size.js';
import { loadImage } from './image-source.js';

/** What the simulator renders for a request: the clip a real provider would have returned. */
export interface VideoSpec {
  width: number;
  height: number;
  durationSeconds: number;
  /** The ratio the frame was made with; `adaptive` is resolved to one of the fixed ratios. */
  ratio: FixedRatio;
  audio: boolean;
  watermark: boolean;
  prompt: string;
  /** The first_frame image, as a file next to the video: the picture. Without it, a flat colour. */
  firstFrame?: string;
  /** The last_frame image, as a file next to the video: blended in at the end. */
  lastFrame?: string;
  /** Why an image of the request is not in the video, one sentence each; also drawn on the frames. */
  imageNotes?: string[];
}

export type FixedRatio = Exclude<(typeof RATIOS)[number], 'adaptive'>;

export const FRAMES_PER_SECOND = 24;
/** What the provider picks for `duration: -1` ("the model decides"). */
const MODEL_CHOSEN_DURATION_SECONDS = 5;
const FALLBACK_RATIO: FixedRatio = '16:9';

const FIXED_RATIOS = RATIOS.filter((ratio): ratio is FixedRatio => ratio !== 'adaptive');

function ratioValue(ratio: FixedRatio): number {
  const [width, height] = ratio.split(':').map(Number);
  return width! / height!;
}

export function durationSeconds(request: Pick<ProviderRequest, 'duration'>): number {
  return request.duration === -1 ? MODEL_CHOSEN_DURATION_SECONDS : request.duration;
}

function frameHeight(resolution: ProviderRequest['resolution']): number {
  return resolution === '720p' ? 720 : 480;
}

/** libx264 with yuv420p needs even sides. */
function frameWidth(height: number, ratio: FixedRatio): number {
  return Math.round((height * ratioValue(ratio)) / 2) * 2;
}

export function promptOf(request: Pick<ProviderRequest, 'content'>): string {
  return request.content.find((item) => item.type === 'text')?.text ?? '';
}

/**
 * The provider's `adaptive` picks one of its own ratios, so the image's aspect is snapped to the
 * nearest listed ratio (compared in log space, where 2:1 and 1:2 are equally far from 1:1). That
 * also keeps a 100:1 banner from asking ffmpeg for a 48000-pixel-wide frame.
 */
function nearestRatio(aspect: number): FixedRatio {
  const distance = (ratio: FixedRatio) => Math.abs(Math.log(ratioValue(ratio) / aspect));
  return FIXED_RATIOS.reduce((best, ratio) => (distance(ratio) < distance(best) ? ratio : best));
}

/**
 * The image `adaptive` follows: the first frame when there is one, else the first image given
 * (a reference: frame and reference images never mix, runtime/domain/request-schema.ts).
 */
async function adaptiveSource(request: ProviderRequest, frames: FrameImages, signal: AbortSignal): Promise<ImageSize | undefined> {
  if (frameImageUrl(request, 'first_frame') !== undefined) return frames.first_frame;
  const image = request.content.find((item) => item.type === 'image_url');
  if (!image) return undefined;
  const load = await loadImage(image.image_url.url, signal);
  return load.ok ? load.image : undefined;
}

/**
 * What to render for a task. The request's first and last frame images are copied into
 * `directory` (named after `taskId`) on the way, so the spec stays renderable after its URLs expire.
 */
export async function planVideo(request: ProviderRequest, directory: string, taskId: string, signal: AbortSignal): Promise<VideoSpec> {
  const frames = await keepFrameImages(request, directory, taskId, signal);
  let ratio: FixedRatio = FALLBACK_RATIO;
  if (request.ratio !== 'adaptive') ratio = request.ratio;
  else {
    const size = await adaptiveSource(request, frames, signal);
    if (size) ratio = nearestRatio(size.width / size.height);
  }
  const height = frameHeight(request.resolution);
  return {
    width: frameWidth(height, ratio),
    height,
    durationSeconds: durationSeconds(request),
    ratio,
    audio: request.generate_audio,
    watermark: request.watermark,
    prompt: promptOf(request),
    ...(frames.first_frame ? { firstFrame: frames.first_frame.file } : {}),
    ...(frames.last_frame ? { lastFrame: frames.last_frame.file } : {}),
    ...(frames.notes.length > 0 ? { imageNotes: frames.notes } : {}),
  };
}
