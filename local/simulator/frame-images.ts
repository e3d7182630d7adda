import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProviderRequest } from '../../runtime/domain/request-schema.js';
import type { ImageSize } from './image-size.js';
import { loadImage } from './image-source.js';

/**
 * The images a request gives with role `first_frame` and `last_frame`, copied next to the task's
 * video when the task is planned: a presigned URL may have expired by the time a restarted
 * simulator renders the task again (task-store.ts), the copy has not.
 */

export type FrameRole = 'first_frame' | 'last_frame';

interface KeptImage extends ImageSize {
  /** A file name in the folder of the task's video. */
  file: string;
}

export interface FrameImages {
  first_frame?: KeptImage;
  last_frame?: KeptImage;
  /** One sentence per image that could not be kept, saying why; the video then goes without it. */
  notes: string[];
}

const FRAME_ROLES: readonly FrameRole[] = ['first_frame', 'last_frame'];
const EXTENSIONS = { png: 'png', jpeg: 'jpg', webp: 'webp' } as const;

export function frameImageUrl(request: Pick<ProviderRequest, 'content'>, role: FrameRole): string | undefined {
  for (const item of request.content) {
    if (item.type === 'image_url' && item.role === role) return item.image_url.url;
  }
  return undefined;
}

export async function keepFrameImages(request: Pick<ProviderRequest, 'content'>, directory: string, taskId: string, signal: AbortSignal): Promise<FrameImages> {
  const kept: FrameImages = { notes: [] };
  for (const role of FRAME_ROLES) {
    const url = frameImageUrl(request, role);
    if (url === undefined) continue;
    const load = await loadImage(url, signal);
    if (!load.ok) {
      kept.notes.push(`${role} image not shown: ${load.problem}`);
      continue;
    }
    const { bytes, format, width, height } = load.image;
    const file = `${taskId}.${role}.${EXTENSIONS[format]}`;
    await writeFile(join(directory, file), bytes);
    kept[role] = { file, width, height };
  }
  return kept;
}
