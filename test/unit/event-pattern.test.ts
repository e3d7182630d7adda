import { describe, expect, it } from 'vitest';
import { compileEventPattern, EventPatternError, matchesEventPattern } from '../../local/emulators/eventbridge/event-pattern.js';

// The S3 Object Created event EventBridge delivers (the docs' example, our bucket and key).
const uploaded = {
  version: '0',
  id: '17793124-05d4-b198-2fde-7ededc63b103',
  'detail-type': 'Object Created',
  source: 'aws.s3',
  account: '000000000000',
  time: '2021-11-12T00:00:00Z',
  region: 'us-east-1',
  resources: ['arn:aws:s3:::videos', 'arn:aws:s3:::other'],
  detail: {
    version: '0',
    bucket: { name: 'videos' },
    object: { key: 'incoming/Spec.JSON', size: 5, etag: 'b1946ac92492d2347c6235b4d2611184', sequencer: '00617F08299329D189' },
    'request-id': 'N4N7GDK58NMKJ12R',
    requester: '000000000000',
    reason: 'PutObject',
    empty: '',
    nothing: null,
    tags: ['blue', 'green'],
    parts: [
      { name: 'a', size: 1 },
      { name: 'b', size: 2 },
    ],
  },
};

const onKey = (rule: unknown) => ({ detail: { object: { key: [rule] } } });

const cases: [name: string, pattern: unknown, matches: boolean][] = [
  // Literal values: arrays are OR, fields are AND, nested objects descend.
  ['exact value', { source: ['aws.s3'] }, true],
  ['exact value, other', { source: ['aws.ec2'] }, false],
  ['one of several values', { source: ['aws.ec2', 'aws.s3'] }, true],
  ['fields AND together', { source: ['aws.s3'], 'detail-type': ['Object Deleted'] }, false],
  ['nested fields', { detail: { bucket: { name: ['videos'] }, reason: ['PutObject'] } }, true],
  ['nested fields, one differs', { detail: { bucket: { name: ['videos'] }, reason: ['CopyObject'] } }, false],
  ['literals are typed: number', { detail: { object: { size: [5] } } }, true],
  ['literals are typed: "5" is not 5', { detail: { object: { size: ['5'] } } }, false],
  ['a missing field never equals', { detail: { missing: ['x'] } }, false],
  ['an event array matches if it shares a value', { resources: ['arn:aws:s3:::other'] }, true],
  ['an event array sharing none', { resources: ['arn:aws:s3:::third'] }, false],
  ['arrays of objects are looked through', { detail: { parts: { name: ['b'] } } }, true],
  ['arrays of objects, no element matches', { detail: { parts: { name: ['c'] } } }, false],
  ['arrays of objects: fields must come from one element', { detail: { parts: { name: ['a'], size: [2] } } }, false],
  ['empty string', { detail: { empty: [''] } }, true],
  ['null', { detail: { nothing: [null] } }, true],
  ['null is not the empty string', { detail: { empty: [null] } }, false],
  // prefix / suffix, plain and ignoring case.
  ['prefix', onKey({ prefix: 'incoming/' }), true],
  ['prefix, other', onKey({ prefix: 'batches/' }), false],
  ['prefix is case-sensitive', onKey({ prefix: 'INCOMING/' }), false],
  ['prefix ignoring case', onKey({ prefix: { 'equals-ignore-case': 'INCOMING/' } }), true],
  ['prefix ignoring case, other', onKey({ prefix: { 'equals-ignore-case': 'BATCHES/' } }), false],
  ['prefix only applies to strings', { detail: { object: { size: [{ prefix: '5' }] } } }, false],
  ['suffix', onKey({ suffix: '.JSON' }), true],
  ['suffix is case-sensitive', onKey({ suffix: '.json' }), false],
  ['suffix ignoring case', onKey({ suffix: { 'equals-ignore-case': '.json' } }), true],
  ['suffix ignoring case, other', onKey({ suffix: { 'equals-ignore-case': '.png' } }), false],
  // equals-ignore-case
  ['equals-ignore-case', { detail: { reason: [{ 'equals-ignore-case': 'putobject' }] } }, true],
  ['equals-ignore-case, other', { detail: { reason: [{ 'equals-ignore-case': 'copyobject' }] } }, false],
  // anything-but
  ['anything-but a value', { detail: { reason: [{ 'anything-but': 'CopyObject' }] } }, true],
  ['anything-but that value', { detail: { reason: [{ 'anything-but': 'PutObject' }] } }, false],
  ['anything-but a number', { detail: { object: { size: [{ 'anything-but': 6 }] } } }, true],
  ['anything-but that number', { detail: { object: { size: [{ 'anything-but': 5 }] } } }, false],
  ['anything-but a list', { detail: { reason: [{ 'anything-but': ['CopyObject', 'CompleteMultipartUpload'] }] } }, true],
  ['anything-but a list holding it', { detail: { reason: [{ 'anything-but': ['CopyObject', 'PutObject'] }] } }, false],
  ['anything-but a prefix', onKey({ 'anything-but': { prefix: 'batches/' } }), true],
  ['anything-but that prefix', onKey({ 'anything-but': { prefix: 'incoming/' } }), false],
  ['anything-but a suffix', onKey({ 'anything-but': { suffix: '.png' } }), true],
  ['anything-but that suffix', onKey({ 'anything-but': { suffix: '.JSON' } }), false],
  ['anything-but ignoring case', { detail: { reason: [{ 'anything-but': { 'equals-ignore-case': ['copyobject'] } }] } }, true],
  ['anything-but ignoring case, same word', { detail: { reason: [{ 'anything-but': { 'equals-ignore-case': 'PUTOBJECT' } }] } }, false],
  ['anything-but a wildcard', onKey({ 'anything-but': { wildcard: 'batches/*' } }), true],
  ['anything-but that wildcard', onKey({ 'anything-but': { wildcard: '*/Spec.*' } }), false],
  ['anything-but needs the field', { detail: { missing: [{ 'anything-but': 'x' }] } }, false],
  // exists: about leaves only.
  ['exists: true on a present field', { detail: { reason: [{ exists: true }] } }, true],
  ['exists: true on a missing field', { detail: { missing: [{ exists: true }] } }, false],
  ['exists: true on a null field', { detail: { nothing: [{ exists: true }] } }, true],
  ['exists: false on a missing field', { detail: { missing: [{ exists: false }] } }, true],
  ['exists: false on a present field', { detail: { reason: [{ exists: false }] } }, false],
  ['exists: false under a missing parent', { nowhere: { missing: [{ exists: false }] } }, true],
  ['exists: an object is not a leaf', { detail: { bucket: [{ exists: true }] } }, false],
  ['exists: false on an object field', { detail: { bucket: [{ exists: false }] } }, true],
  ['exists OR a value', { detail: { missing: [{ exists: false }, 'x'] } }, true],
  // wildcard
  ['wildcard', onKey({ wildcard: 'incoming/*.JSON' }), true],
  ['wildcard, other', onKey({ wildcard: 'incoming/*.png' }), false],
  ['wildcard anchors both ends', onKey({ wildcard: 'coming/*' }), false],
  ['wildcard with several stars', onKey({ wildcard: '*/S*.*' }), true],
  ['wildcard takes regex characters literally', onKey({ wildcard: 'incoming/Spec.JSO?' }), false],
  ['wildcard escapes a star', { detail: { star: [{ wildcard: 'a\\*b' }] } }, false],
  // $or
  ['$or, one branch matches', { $or: [{ source: ['aws.ec2'] }, { detail: { reason: ['PutObject'] } }] }, true],
  ['$or, no branch matches', { $or: [{ source: ['aws.ec2'] }, { detail: { reason: ['CopyObject'] } }] }, false],
];

describe('matchesEventPattern', () => {
  it.each(cases)('%s', (_name, pattern, expected) => {
    expect(matchesEventPattern(pattern, uploaded)).toBe(expected);
  });

  it('accepts the pattern as a JSON string, as CloudFormation allows', () => {
    expect(matchesEventPattern(JSON.stringify({ detail: { nothing: [null] } }), uploaded)).toBe(true);
  });

  it('matches the escaped star and backslash literally', () => {
    const event = { detail: { star: 'a*b', slash: 'a\\b' } };
    expect(matchesEventPattern({ detail: { star: [{ wildcard: 'a\\*b' }] } }, event)).toBe(true);
    expect(matchesEventPattern({ detail: { star: [{ wildcard: 'a\\*b' }] } }, { detail: { star: 'axb' } })).toBe(false);
    expect(matchesEventPattern({ detail: { slash: [{ wildcard: 'a\\\\b' }] } }, event)).toBe(true);
  });

  it('matches the rule the upload trigger uses', () => {
    const rule = {
      source: ['aws.s3'],
      'detail-type': ['Object Created'],
      detail: { bucket: { name: ['videos'] }, object: { key: [{ prefix: 'incoming/' }] } },
    };
    expect(matchesEventPattern(rule, uploaded)).toBe(true);
    expect(matchesEventPattern(rule, { ...uploaded, detail: { ...uploaded.detail, bucket: { name: 'other' } } })).toBe(false);
    expect(matchesEventPattern(rule, { ...uploaded, detail: { ...uploaded.detail, object: { key: 'accepted/x.json' } } })).toBe(false);
  });
});

describe('compileEventPattern refuses what it cannot honour', () => {
  it.each([
    ['numeric', { detail: { size: [{ numeric: ['>', 0] }] } }],
    ['cidr', { detail: { ip: [{ cidr: '10.0.0.0/24' }] } }],
    ['an unknown operator', { detail: { key: [{ contains: 'x' }] } }],
    ['anything-but of an unknown operator', { detail: { key: [{ 'anything-but': { numeric: ['>', 1] } }] } }],
    ['anything-but of a mixed list', { detail: { key: [{ 'anything-but': ['a', 1] }] } }],
    ['a bare value instead of an array', { source: 'aws.s3' }],
    ['an empty value array', { source: [] }],
    ['two operators in one object', { detail: { key: [{ prefix: 'a', suffix: 'b' }] } }],
    ['consecutive wildcards', { detail: { key: [{ wildcard: 'a**b' }] } }],
    ['a wildcard escaping another character', { detail: { key: [{ wildcard: 'a\\b' }] } }],
    ['prefix of a number', { detail: { key: [{ prefix: 5 }] } }],
    ['exists of a string', { detail: { key: [{ exists: 'yes' }] } }],
    ['an empty pattern', {}],
    ['a pattern that is not an object', ['aws.s3']],
    ['$or with one branch', { $or: [{ source: ['aws.s3'] }] }],
  ])('%s', (_name, pattern) => {
    expect(() => compileEventPattern(pattern)).toThrow(EventPatternError);
  });
});
