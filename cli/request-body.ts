import type { JobRequestInput } from '../runtime/domain/request-schema.js';
import { mediaUrl, type MediaStore } from './media.js';

/** The flags of `generate` that make the request body. */
export interface GenerateFlags {
  prompt: string;
  model: string;
  images: string[];
  videos: string[];
  audios: string[];
  ratio?: string | undefined;
  resolution?: string | undefined;
  duration?: string | undefined;
  noAudio: boolean;
  watermark: boolean;
  webSearch: boolean;
}

/** `--duration 5` is a number; anything else goes as written so the API names the problem. */
function durationValue(text: string): number | string {
  return /^-?\d+$/.test(text.trim()) ? Number(text) : text;
}

/**
 * Builds the POST /jobs body. Roles: a single image and no video or audio is the first frame; otherwise
 * every image is a reference (frames never mix with reference media); videos and audio are references.
 * The API validates the result like any other body: the CLI does not repeat its rules.
 */
export async function buildRequestBody(flags: GenerateFlags, store: () => MediaStore | undefined): Promise<JobRequestInput> {
  const images = await Promise.all(flags.images.map((reference) => mediaUrl('image', reference, store)));
  const videos = await Promise.all(flags.videos.map((reference) => mediaUrl('video', reference, store)));
  const audios = await Promise.all(flags.audios.map((reference) => mediaUrl('audio', reference, store)));
  const imageRole: 'first_frame' | 'reference_image' = images.length === 1 && videos.length === 0 && audios.length === 0 ? 'first_frame' : 'reference_image';
  const content: JobRequestInput['content'] = [
    ...(flags.prompt ? [{ type: 'text' as const, text: flags.prompt }] : []),
    ...images.map((url) => ({ type: 'image_url' as const, image_url: { url }, role: imageRole })),
    ...videos.map((url) => ({ type: 'video_url' as const, video_url: { url }, role: 'reference_video' as const })),
    ...audios.map((url) => ({ type: 'audio_url' as const, audio_url: { url }, role: 'reference_audio' as const })),
  ];
  return {
    model: flags.model,
    content,
    ...(flags.ratio !== undefined ? { ratio: flags.ratio } : {}),
    ...(flags.resolution !== undefined ? { resolution: flags.resolution } : {}),
    ...(flags.duration !== undefined ? { duration: durationValue(flags.duration) } : {}),
    ...(flags.noAudio ? { generate_audio: false } : {}),
    ...(flags.watermark ? { watermark: true } : {}),
    ...(flags.webSearch ? { tools: [{ type: 'web_search' }] } : {}),
  } as JobRequestInput;
}
