import { describe, expect, test } from 'vitest';
import { ValidationError } from '../../runtime/domain/errors.js';
import {
  createJobRequestSchema,
  createProviderRequestSchema,
  parseWith,
  requestWarnings,
  splitJobRequest,
  toFieldIssues,
  WEB_SEARCH_WARNING,
} from '../../runtime/domain/request-schema.js';
import { PROVIDER_EXAMPLE_REQUEST } from '../../testkit/provider-fixtures.js';

const schema = createJobRequestSchema();

/** The paths of every issue, in order; [] when the body is valid. */
function issuePaths(body: unknown): string[] {
  const result = schema.safeParse(body);
  return result.success ? [] : toFieldIssues(result.error).map((issue) => issue.path);
}

function accept(body: unknown) {
  const result = schema.safeParse(body);
  if (!result.success) throw new Error(`expected the body to be valid, got ${JSON.stringify(toFieldIssues(result.error))}`);
  return result.data;
}

const text = (prompt = 'A cat playing piano') => ({ type: 'text', text: prompt });
const image = (role?: string, url = 'https://example.com/a.jpg') => ({
  type: 'image_url',
  image_url: { url },
  ...(role ? { role } : {}),
});
const video = (url = 'https://example.com/a.mp4') => ({ type: 'video_url', video_url: { url }, role: 'reference_video' });
const audio = (url = 'https://example.com/a.mp3') => ({ type: 'audio_url', audio_url: { url }, role: 'reference_audio' });
const body = (content: unknown[], extra: Record<string, unknown> = {}) => ({ model: 'seedance-fast', content, ...extra });
const times = <T>(count: number, make: () => T) => Array.from({ length: count }, make);

const PNG_DATA_URI = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const MP3_DATA_URI = 'data:audio/mpeg;base64,SUQzBAAAAAAAI1RTU0UAAAAPAAADTGF2ZjU4Ljc2LjEwMAAAAAAAAAAAAAAA';
const MP4_DATA_URI = 'data:video/mp4;base64,AAAAIGZ0eXBpc29tAAACAGlzb21pc28yYXZjMW1wNDE=';

describe('the provider example', () => {
  const providerExample = PROVIDER_EXAMPLE_REQUEST;

  test('is accepted as it stands, by the job schema and the provider schema', () => {
    expect(accept(providerExample)).toEqual(providerExample);
    expect(createProviderRequestSchema().safeParse(providerExample).success).toBe(true);
  });

  test('answers the web_search warning because media is attached', () => {
    expect(requestWarnings(accept(providerExample))).toEqual([WEB_SEARCH_WARNING]);
  });

  test('web_search on a text-only request gives no warning', () => {
    expect(requestWarnings(accept(body([text()], { tools: [{ type: 'web_search' }] })))).toEqual([]);
  });

  test('no tools, no warning', () => {
    expect(requestWarnings(accept(body([text(), image('reference_image')])))).toEqual([]);
  });
});

describe('defaults', () => {
  test('a text-only request gets every provider default filled', () => {
    expect(accept(body([text()]))).toEqual({
      model: 'seedance-fast',
      content: [text()],
      generate_audio: true,
      resolution: '720p',
      ratio: 'adaptive',
      duration: 5,
      watermark: false,
    });
  });

  test('explicit values are kept, not replaced by defaults', () => {
    const parsed = accept(body([text()], { generate_audio: false, resolution: '480p', ratio: '9:16', duration: -1, watermark: true }));
    expect(parsed).toMatchObject({ generate_audio: false, resolution: '480p', ratio: '9:16', duration: -1, watermark: true });
  });

  test.each(['16:9', '4:3', '1:1', '3:4', '9:16', '21:9', 'adaptive'])('ratio %s is accepted', (ratio) => {
    expect(issuePaths(body([text()], { ratio }))).toEqual([]);
  });

  test.each([
    ['ratio', '2:1'],
    ['resolution', '1080p'],
    ['generate_audio', 'yes'],
    ['watermark', 1],
  ])('%s = %j is rejected with its path', (field, value) => {
    expect(issuePaths(body([text()], { [field]: value }))).toEqual([field]);
  });
});

describe('content combinations', () => {
  test.each([
    ['text', [text()]],
    ['text + image', [text(), image('reference_image')]],
    ['text + images', [text(), image('reference_image'), image('reference_image', 'https://example.com/b.jpg')]],
    ['text + image without a role', [text(), image()]],
    ['text + video', [text(), video()]],
    ['text + videos', [text(), video(), video('https://example.com/b.mp4')]],
    ['text + image + audio', [text(), image('reference_image'), audio()]],
    ['text + image + video', [text(), image('reference_image'), video()]],
    ['text + video + audio', [text(), video(), audio()]],
    ['text + image + video + audio', [text(), image('reference_image'), video(), audio()]],
    ['image alone', [image('first_frame')]],
    ['video alone', [video()]],
    ['9 images', [text(), ...times(9, () => image('reference_image'))]],
    ['3 videos + 3 audio clips', [text(), ...times(3, () => video()), ...times(3, () => audio())]],
  ])('%s is accepted', (_name, content) => {
    expect(issuePaths(body(content))).toEqual([]);
  });

  test.each([
    ['audio alone', [audio()], ['content[0]']],
    ['text + audio', [text(), audio()], ['content[1]']],
    ['two text items', [text(), text('another')], ['content[1]']],
    ['10 images', [text(), ...times(10, () => image('reference_image'))], ['content[10]']],
    ['4 videos', [text(), ...times(4, () => video())], ['content[4]']],
    ['4 audio clips', [text(), video(), ...times(4, () => audio())], ['content[5]']],
  ])('%s is rejected', (_name, content, paths) => {
    expect(issuePaths(body(content))).toEqual(paths);
  });

  test('the rejection of audio alone says what is missing', () => {
    const result = schema.safeParse(body([text(), audio()]));
    expect(result.success).toBe(false);
    expect(toFieldIssues(result.error!)[0]!.message).toMatch(/image or a video/);
  });

  test('empty content is rejected', () => {
    expect(issuePaths(body([]))).toEqual(['content']);
  });

  test('missing content is rejected', () => {
    expect(issuePaths({ model: 'seedance-fast' })).toEqual(['content']);
  });

  test('an empty or blank prompt is rejected', () => {
    expect(issuePaths(body([text('')]))).toEqual(['content[0].text']);
    expect(issuePaths(body([text('   ')]))).toEqual(['content[0].text']);
  });

  test('an unknown content type is rejected at its type, naming the allowed ones', () => {
    const result = schema.safeParse(body([text(), { type: 'gif_url', gif_url: { url: 'https://example.com/a.gif' } }]));
    expect(result.success).toBe(false);
    expect(toFieldIssues(result.error!)).toEqual([{ path: 'content[1].type', message: 'type must be one of text, image_url, video_url, audio_url' }]);
  });

  test('a wrong role for the item type is rejected at the role', () => {
    expect(issuePaths(body([text(), image('reference_video')]))).toEqual(['content[1].role']);
    expect(issuePaths(body([text(), { ...video(), role: 'first_frame' }]))).toEqual(['content[1].role']);
  });
});

describe('first/last frame rules', () => {
  test.each([
    ['first_frame', [text(), image('first_frame')]],
    ['first_frame + last_frame', [text(), image('first_frame'), image('last_frame')]],
    ['last_frame listed before first_frame', [text(), image('last_frame'), image('first_frame')]],
  ])('%s is accepted', (_name, content) => {
    expect(issuePaths(body(content))).toEqual([]);
  });

  test.each([
    ['first_frame + reference_image', [text(), image('first_frame'), image('reference_image')], ['content[2].role']],
    ['reference_image + first_frame', [text(), image('reference_image'), image('first_frame')], ['content[1].role']],
    ['first_frame + video', [text(), image('first_frame'), video()], ['content[2].role']],
    ['first_frame + audio', [text(), image('first_frame'), audio()], ['content[2].role']],
    ['two first_frames', [text(), image('first_frame'), image('first_frame')], ['content[2].role']],
    ['two last_frames', [text(), image('first_frame'), image('last_frame'), image('last_frame')], ['content[3].role']],
    ['last_frame without first_frame', [text(), image('last_frame')], ['content[1].role']],
  ])('%s is rejected', (_name, content, paths) => {
    expect(issuePaths(body(content))).toEqual(paths);
  });
});

describe('duration', () => {
  test.each([-1, 4, 5, 10, 15])('%j is accepted', (duration) => {
    expect(accept(body([text()], { duration })).duration).toBe(duration);
  });

  test.each([0, 3, 16, 4.5, '5', -2, null, 100])('%j is rejected with path duration', (duration) => {
    expect(issuePaths(body([text()], { duration }))).toEqual(['duration']);
  });
});

describe('media URLs', () => {
  test.each([
    ['an http:// image URL', [text(), image('reference_image', 'http://example.com/a.jpg')], 'content[1].image_url.url'],
    ['a relative image URL', [text(), image('reference_image', '/a.jpg')], 'content[1].image_url.url'],
    ['an s3:// image URL', [text(), image('reference_image', 's3://bucket/a.jpg')], 'content[1].image_url.url'],
    ['an http:// video URL', [text(), video('http://example.com/a.mp4')], 'content[1].video_url.url'],
    ['an http:// audio URL', [text(), video(), audio('http://example.com/a.mp3')], 'content[2].audio_url.url'],
    ['a data: URI video', [text(), video(MP4_DATA_URI)], 'content[1].video_url.url'],
    ['a data: URI that is not base64', [text(), image('reference_image', 'data:image/png,hello')], 'content[1].image_url.url'],
    ['an https URL over 4096 characters', [text(), image('reference_image', `https://example.com/${'a'.repeat(4100)}.jpg`)], 'content[1].image_url.url'],
  ])('%s is rejected with the path of the URL', (_name, content, path) => {
    expect(issuePaths(body(content))).toEqual([path]);
  });

  describe('s3:// media of our bucket', () => {
    const ours = createJobRequestSchema({ mediaBucket: 'our-bucket' });
    const pathsOf = (url: string) => {
      const result = ours.safeParse(body([text(), image('reference_image', url)]));
      return result.success ? [] : toFieldIssues(result.error).map((issue) => issue.path);
    };
    test.each(['s3://our-bucket/media/cat.png', 's3://our-bucket/incoming/shots/cat one.png', 's3://our-bucket/media/uploads/upload-1/cat.png'])(
      '%s is accepted',
      (url) => expect(pathsOf(url)).toEqual([]),
    );
    test.each([
      ['another bucket', 's3://other-bucket/media/cat.png'],
      ['a request body of another job', 's3://our-bucket/requests/job-1/abc.json'],
      ['a stored video', 's3://our-bucket/videos/2026/12/04/job-1.mp4'],
      ['a manifest', 's3://our-bucket/batches/night.jsonl'],
      ['a refused upload', 's3://our-bucket/rejected/cat.png'],
      ['a ../ path out of media/', 's3://our-bucket/media/../requests/job-1.json'],
      ['a ./ segment', 's3://our-bucket/media/./cat.png'],
      ['an empty segment', 's3://our-bucket/media//cat.png'],
      ['the prefix alone', 's3://our-bucket/media/'],
      ['a backslash', 's3://our-bucket/media\\..\\requests\\x.json'],
      ['a control character', 's3://our-bucket/media/cat\u0000.png'],
      ['a key over 1024 bytes', `s3://our-bucket/media/${'é'.repeat(600)}.png`],
    ])('%s is refused with the path of the URL', (_name, url) => {
      expect(pathsOf(url)).toEqual(['content[1].image_url.url']);
    });
  });

  test('a data: URI is accepted for an image', () => {
    expect(issuePaths(body([text(), image('first_frame', PNG_DATA_URI)]))).toEqual([]);
  });

  test('a data: URI is accepted for audio', () => {
    expect(issuePaths(body([text(), image('reference_image'), audio(MP3_DATA_URI)]))).toEqual([]);
  });

  test('a missing url is rejected at the url', () => {
    expect(issuePaths(body([text(), { type: 'image_url', image_url: {} }]))).toEqual(['content[1].image_url.url']);
  });
});

describe('tools', () => {
  test.each([
    ['another tool type', [{ type: 'code_interpreter' }], ['tools[0].type']],
    ['web_search twice', [{ type: 'web_search' }, { type: 'web_search' }], ['tools']],
    ['a tool with extra fields', [{ type: 'web_search', max_results: 3 }], ['tools[0].max_results']],
    ['a tools object instead of an array', { type: 'web_search' }, ['tools']],
  ])('%s is rejected', (_name, tools, paths) => {
    expect(issuePaths(body([text()], { tools }))).toEqual(paths);
  });
});

describe('unknown and wrong fields', () => {
  test('an unknown top-level field is rejected by name', () => {
    expect(issuePaths(body([text()], { foo: 1 }))).toEqual(['foo']);
  });

  test('an unknown field in a content item is rejected with its full path', () => {
    expect(issuePaths(body([{ ...text(), extra: true }]))).toEqual(['content[0].extra']);
    expect(issuePaths(body([text(), { type: 'image_url', image_url: { url: 'https://example.com/a.jpg', detail: 'high' } }]))).toEqual([
      'content[1].image_url.detail',
    ]);
  });

  test('several unknown fields are each named', () => {
    expect(issuePaths(body([text()], { foo: 1, bar: 2 }))).toEqual(['foo', 'bar']);
  });

  test('a model that is not configured is rejected', () => {
    expect(issuePaths({ ...body([text()]), model: 'seedance-pro' })).toEqual(['model']);
    expect(issuePaths({ content: [text()] })).toEqual(['model']);
  });

  test('the list of models is configurable', () => {
    const custom = createJobRequestSchema({ models: ['seedance-pro'] });
    expect(custom.safeParse({ ...body([text()]), model: 'seedance-pro' }).success).toBe(true);
    expect(custom.safeParse(body([text()])).success).toBe(false);
  });

  test.each([null, 'a string', 42, [], true])('a non-object body (%j) gives path body', (value) => {
    expect(issuePaths(value)).toEqual(['body']);
  });
});

describe('metadata', () => {
  test('a flat string map is accepted and split from the provider request', () => {
    const parsed = accept(body([text()], { metadata: { customer: 'acme', campaign: 'spring' } }));
    const { providerRequest, metadata } = splitJobRequest(parsed);
    expect(metadata).toEqual({ customer: 'acme', campaign: 'spring' });
    expect(providerRequest).not.toHaveProperty('metadata');
  });

  test('20 entries are accepted', () => {
    const metadata = Object.fromEntries(times(20, () => 0).map((_, index) => [`k${index}`, 'v']));
    expect(issuePaths(body([text()], { metadata }))).toEqual([]);
  });

  test.each([
    ['nested', { customer: { name: 'acme' } }, ['metadata.customer']],
    ['a number value', { count: 3 }, ['metadata.count']],
    ['21 entries', Object.fromEntries(times(21, () => 0).map((_, index) => [`k${index}`, 'v'])), ['metadata']],
    ['a value over 512 characters', { note: 'x'.repeat(513) }, ['metadata.note']],
    ['an array', ['a', 'b'], ['metadata']],
  ])('%s is rejected', (_name, metadata, paths) => {
    expect(issuePaths(body([text()], { metadata }))).toEqual(paths);
  });

  test('the provider schema itself has no metadata field', () => {
    const result = createProviderRequestSchema().safeParse(body([text()], { metadata: { a: 'b' } }));
    expect(result.success).toBe(false);
    expect(toFieldIssues(result.error!).map((issue) => issue.path)).toEqual(['metadata']);
  });
});

describe('parseWith', () => {
  test('returns the parsed body with defaults', () => {
    expect(parseWith(schema, body([text()])).duration).toBe(5);
  });

  test('throws a ValidationError naming every offending field', () => {
    let caught: unknown;
    try {
      parseWith(schema, body([text()], { duration: 3, ratio: '2:1', foo: true }));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    const error = caught as ValidationError;
    expect(error.name).toBe('VALIDATION_ERROR');
    expect(error.httpStatus).toBe(400);
    expect(error.issues.map((issue) => issue.path).sort()).toEqual(['duration', 'foo', 'ratio']);
    expect(error.issues.every((issue) => issue.message.length > 0)).toBe(true);
  });
});
