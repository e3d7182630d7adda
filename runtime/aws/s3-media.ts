import type { ProviderRequest } from '../domain/request-schema.js';
import { parseS3Uri } from '../domain/request-schema.js';

/** How long a presigned media URL stays valid: the provider fetches media while it generates. */
export const MEDIA_URL_TTL_SECONDS = 6 * 60 * 60;

export type Presign = (location: { bucket: string; key: string }) => Promise<string>;

/**
 * Replaces `s3://` media with presigned HTTPS URLs the provider can fetch. Done at submit time, not
 * at intake, so a job that waited for a batch still hands over fresh URLs.
 */
export async function presignS3Media(request: ProviderRequest, presign: Presign): Promise<ProviderRequest> {
  const resolve = async (url: string) => {
    const location = parseS3Uri(url);
    return location ? presign(location) : url;
  };
  const content = await Promise.all(
    request.content.map(async (item) => {
      switch (item.type) {
        case 'image_url':
          return { ...item, image_url: { url: await resolve(item.image_url.url) } };
        case 'video_url':
          return { ...item, video_url: { url: await resolve(item.video_url.url) } };
        case 'audio_url':
          return { ...item, audio_url: { url: await resolve(item.audio_url.url) } };
        default:
          return item;
      }
    }),
  );
  return { ...request, content };
}
