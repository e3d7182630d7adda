import { describe, expect, test } from 'vitest';
import { PipelineError } from '../../runtime/domain/errors.js';
import { readJsonBody } from '../../runtime/intake/http-body.js';

const MAX = 64;

function read(contentType: string | undefined, body: string | Uint8Array | undefined, maxBytes = MAX) {
  return readJsonBody({ contentType, body, maxBytes });
}

function failure(contentType: string | undefined, body: string | Uint8Array | undefined, maxBytes = MAX): PipelineError {
  try {
    read(contentType, body, maxBytes);
  } catch (error) {
    expect(error).toBeInstanceOf(PipelineError);
    return error as PipelineError;
  }
  throw new Error('expected readJsonBody to throw');
}

describe('readJsonBody', () => {
  test.each(['application/json', 'application/json; charset=utf-8', 'Application/JSON;charset=UTF-8', 'application/problem+json'])(
    'accepts content type %j',
    (contentType) => {
      expect(read(contentType, '{"model":"seedance-fast"}')).toEqual({ model: 'seedance-fast' });
    },
  );

  test.each([
    ['missing', undefined],
    ['empty', ''],
    ['text/plain', 'text/plain'],
    ['form data', 'application/x-www-form-urlencoded'],
    ['application/jsonp', 'application/jsonp'],
  ])('a %s content type is 415', (_name, contentType) => {
    const error = failure(contentType, '{}');
    expect(error.httpStatus).toBe(415);
    expect(error.name).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(error.message).toContain('application/json');
  });

  test.each([
    'application/json; charset=utf-16',
    'application/json; charset=UTF-16LE',
    'application/json;charset="utf-16"',
    'application/json; charset=iso-8859-1',
    'application/json; charset=utf8',
    'application/json; charset=us-ascii',
    'application/json; charset=utf-8; charset=utf-16',
    'application/json; foo; charset=utf-16',
    'application/problem+json; CHARSET="Windows-1252"',
  ])('a charset other than utf-8 is 415: %j', (contentType) => {
    const error = failure(contentType, '{}');
    expect(error.httpStatus).toBe(415);
    expect(error.name).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(error.message).toContain('UTF-8');
  });

  test.each(['application/json; charset="utf-8"', 'application/json; CHARSET=Utf-8', 'application/json; charset = utf-8', 'application/json; foo=bar'])(
    'utf-8, however written, is read: %j',
    (contentType) => {
      expect(read(contentType, '{"a":1}')).toEqual({ a: 1 });
    },
  );

  test('bytes are decoded as UTF-8', () => {
    expect(read('application/json', Buffer.from('{"t":"é猫🎹"}'))).toEqual({ t: 'é猫🎹' });
  });

  test.each([
    ['a stray continuation byte', [0x80]],
    ['0xFF', [0xff]],
    ['a cut sequence', [0xe0, 0xa4]],
    ['an overlong slash', [0xc0, 0xaf]],
    ['an encoded surrogate', [0xed, 0xa0, 0x80]],
  ])('bytes that are not UTF-8 (%s) are 400 MALFORMED_JSON, never read with U+FFFD in their place', (_name, bad) => {
    const body = Buffer.concat([Buffer.from('{"text":"'), Buffer.from(bad), Buffer.from('"}')]);
    const error = failure('application/json', body);
    expect(error.httpStatus).toBe(400);
    expect(error.name).toBe('MALFORMED_JSON');
    expect(error.message).toContain('UTF-8');
  });

  test('the limit counts the bytes that were sent', () => {
    expect(failure('application/json', Buffer.alloc(MAX + 1, 0x20)).httpStatus).toBe(413);
  });

  test('the 415 names the content type that was sent', () => {
    expect(failure('text/plain', '{}').message).toContain('text/plain');
  });

  test('a body over maxBytes is 413', () => {
    const body = JSON.stringify({ text: 'x'.repeat(MAX) });
    const error = failure('application/json', body);
    expect(error.httpStatus).toBe(413);
    expect(error.name).toBe('PAYLOAD_TOO_LARGE');
  });

  test('a body of exactly maxBytes is read', () => {
    const body = JSON.stringify({ text: 'x'.repeat(MAX - 11) });
    expect(Buffer.byteLength(body)).toBe(MAX);
    expect(read('application/json', body)).toEqual({ text: 'x'.repeat(MAX - 11) });
  });

  test('the limit counts bytes, not characters', () => {
    // 40 characters, 80 bytes in UTF-8.
    const body = JSON.stringify({ t: 'é'.repeat(32) });
    expect(body.length).toBeLessThanOrEqual(MAX);
    expect(failure('application/json', body).httpStatus).toBe(413);
  });

  test.each([
    ['undefined', undefined],
    ['empty', ''],
    ['blank', '  \n '],
    ['broken', '{"model": "seedance-fast",'],
    ['not JSON at all', 'model=seedance-fast'],
  ])('a %s body is 400 MALFORMED_JSON', (_name, body) => {
    const error = failure('application/json', body);
    expect(error.httpStatus).toBe(400);
    expect(error.name).toBe('MALFORMED_JSON');
  });

  test('valid JSON that is not an object is returned for the schema to judge', () => {
    expect(read('application/json', '[1,2]')).toEqual([1, 2]);
    expect(read('application/json', 'null')).toBeNull();
  });
});
