import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parseArgs } from 'node:util';
import type { JobRequestInput } from '../../runtime/domain/request-schema.js';
import { CONTEXT_OPTION } from '../stack/cdk-context.js';

const IMAGE_TYPES: Record<string, string> = { '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.webp': 'image/webp' };

export const GENERATE_USAGE = `usage: npm run generate -- "<prompt>" [--image file|https-url] [--ratio 16:9|4:3|1:1|3:4|9:16|21:9|adaptive]
       [--resolution 480p|720p] [--duration -1|4..15] [--no-audio] [--watermark] [--out dir] [-c key=value]...
  Submits one job, shows its progress and writes the MP4 to <out>/<jobId>.mp4 (default ./out). It uses
  the stack npm start runs on LOCAL_DATA_DIR (.local), or on PORT (3000) when LOCAL_DATA_DIR is not set;
  with none running, it runs a stack of its own for the job (LOCAL_TIME_SCALE 0.05; -c sets its CDK context).
  --image: a .png/.jpg/.jpeg/.webp file (sent as a data: URI) or an https URL; one image is the first
  frame, several are reference images.`;

/** Wrong arguments: the message, with the usage, goes to stderr (exit 2). */
export class GenerateUsageError extends Error {
  override readonly name = 'GenerateUsageError';
}

/** A local image becomes a data: URI (the provider accepts them for images); a URL is passed as is. */
async function imageUrl(reference: string): Promise<string> {
  if (/^https?:\/\//i.test(reference)) return reference;
  const type = IMAGE_TYPES[extname(reference).toLowerCase()];
  if (!type) throw new GenerateUsageError(`--image ${reference}: use a .png, .jpg, .jpeg or .webp file, or an https URL`);
  try {
    return `data:${type};base64,${(await readFile(reference)).toString('base64')}`;
  } catch (error) {
    throw new GenerateUsageError(`--image ${reference}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

function parseGenerateArgs(args: string[]) {
  try {
    return parseArgs({
      args,
      allowPositionals: true,
      options: {
        image: { type: 'string', multiple: true },
        ratio: { type: 'string' },
        resolution: { type: 'string' },
        duration: { type: 'string' },
        'no-audio': { type: 'boolean' },
        watermark: { type: 'boolean' },
        out: { type: 'string', default: 'out' },
        ...CONTEXT_OPTION,
      },
    });
  } catch (error) {
    throw new GenerateUsageError(`${(error as Error).message}\n${GENERATE_USAGE}`);
  }
}

/**
 * Builds the POST /jobs body from the command line; the API validates it like any other. The `-c`
 * assignments are returned as typed, for cdkContext.
 */
export async function generateRequestFromArgs(args: string[]): Promise<{ body: JobRequestInput; outDir: string; contextAssignments: string[] }> {
  const { values, positionals } = parseGenerateArgs(args);
  const prompt = positionals.join(' ').trim();
  const images = await Promise.all((values.image ?? []).map(imageUrl));
  if (!prompt && images.length === 0) throw new GenerateUsageError(`a prompt or an --image is needed\n${GENERATE_USAGE}`);
  const content: JobRequestInput['content'] = [
    ...(prompt ? [{ type: 'text' as const, text: prompt }] : []),
    ...images.map((url) => ({
      type: 'image_url' as const,
      image_url: { url },
      // One image starts the clip; several guide it as references.
      role: images.length === 1 ? ('first_frame' as const) : ('reference_image' as const),
    })),
  ];
  const body = {
    model: 'seedance-fast',
    content,
    ...(values.ratio ? { ratio: values.ratio } : {}),
    ...(values.resolution ? { resolution: values.resolution } : {}),
    ...(values.duration ? { duration: Number(values.duration) } : {}),
    ...(values['no-audio'] ? { generate_audio: false } : {}),
    ...(values.watermark ? { watermark: true } : {}),
  } as JobRequestInput;
  return { body, outDir: values.out, contextAssignments: values.context ?? [] };
}
