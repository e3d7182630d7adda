import type { ProviderRequest } from '../runtime/domain/request-schema.js';

/** A task id in the provider's own format. */
export const TASK_ID = 'cgt-20260312231129-7db6s';

/** The provider's own example create body (docs/provider-api.md): it must be accepted as it stands. */
export const PROVIDER_EXAMPLE_REQUEST: ProviderRequest = {
  model: 'seedance-fast',
  content: [
    { type: 'text', text: 'A cat playing piano in a sunlit room' },
    { type: 'image_url', image_url: { url: 'https://example.com/reference.jpg' }, role: 'reference_image' },
  ],
  generate_audio: true,
  resolution: '720p',
  ratio: 'adaptive',
  duration: 5,
  tools: [{ type: 'web_search' }],
  watermark: false,
};

/** The provider's documented answer to a create. */
export const CREATED_TASK = {
  id: TASK_ID,
  task_id: TASK_ID,
  object: 'video',
  model: 'seedance-fast',
  status: '',
  progress: 0,
  created_at: 1773328294,
};

/** The gateway's task envelope (docs/provider-api.md), with the fields a test cares about overridden. */
export function taskEnvelope(data: Record<string, unknown> = {}, inner: Record<string, unknown> = {}) {
  return {
    code: 'success',
    message: '',
    data: {
      task_id: TASK_ID,
      action: 'generate',
      status: 'IN_PROGRESS',
      progress: '50%',
      result_url: '',
      fail_reason: '',
      submit_time: 1773328294,
      start_time: 1773328300,
      finish_time: 0,
      data: {
        id: TASK_ID,
        status: 'running',
        content: { video_url: '' },
        duration: 5,
        ratio: '16:9',
        resolution: '720p',
        framespersecond: 24,
        ...inner,
      },
      ...data,
    },
  };
}
