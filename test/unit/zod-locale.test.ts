import { describe, expect, it } from 'vitest';
import { requiredSetting } from '../../contracts/environment.js';
import { readEnv } from '../../runtime/compose/env.js';
import type { ValidationError } from '../../runtime/domain/errors.js';
import { parseListQuery } from '../../runtime/intake/intake-query.js';
import { createJobRequestSchema, toFieldIssues } from '../../runtime/domain/request-schema.js';
import * as z from '../../runtime/domain/zod.js';

/**
 * The Lambdas use zod/mini, which, unlike classic zod, loads no locale: runtime/domain/zod.ts sets
 * English, or every issue without a message of our own would read "Invalid input". This file imports
 * nothing that loads classic zod (which would set English itself), so it sees what a bundle sees.
 */
describe("zod's own messages, as the Lambdas give them", () => {
  it('name the expected type or values in the issues the intake answers', () => {
    const result = createJobRequestSchema().safeParse({ model: 1, content: [{ type: 'text', text: 'x' }], resolution: '1080p' });
    expect(result.success).toBe(false);
    expect(toFieldIssues(result.error!)).toEqual([
      { path: 'model', message: 'Invalid input: expected string, received number' },
      { path: 'resolution', message: 'Invalid option: expected one of "480p"|"720p"' },
    ]);
  });

  it('name the problem of a query parameter', () => {
    let issues: ValidationError['issues'] = [];
    try {
      parseListQuery({ limit: ['500'] });
    } catch (error) {
      issues = (error as ValidationError).issues;
    }
    expect(issues).toEqual([{ path: 'query.limit', message: 'Too big: expected number to be <=100' }]);
  });

  it('name the missing setting when a cold start fails', () => {
    expect(() => readEnv(z.object({ JOBS_TABLE: requiredSetting }), {})).toThrow(
      'Invalid function environment: JOBS_TABLE: Invalid input: expected string, received undefined',
    );
  });
});
