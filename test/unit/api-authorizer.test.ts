import { beforeAll, describe, expect, it } from 'vitest';
import { DROP_IN_STAGE, UNAUTHORIZED_BODY } from '../../contracts/drop-in.js';
import { HANDLER } from '../../contracts/handlers.js';
import { localAuthorizerOf, type LocalAuthorizer } from '../../local/stack/api-authorizer.js';
import { synthesizePipelineTemplate } from '../../local/stack/cloud-assembly.js';
import type { Handler } from '../../local/stack/handler-modules.js';

/**
 * The local stand-in for API Gateway's TOKEN authorizer (local/stack/api-authorizer.ts), read from
 * the synthesized template, around a stand-in authorizer function.
 */

const TOKEN = `vpt_0123456789abcdef_${'A'.repeat(43)}`;
let invocations: { file: string; event: { authorizationToken: string; methodArn: string } }[];
let answer: Handler;
let authorizer: LocalAuthorizer;

const allowPolicy = (resource: string, effect = 'Allow') => ({
  principalId: 'token:0123456789abcdef',
  policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resource }] },
  context: { tokenId: '0123456789abcdef' },
});

beforeAll(() => {
  authorizer = localAuthorizerOf(synthesizePipelineTemplate(), async (file) => async (event) => {
    invocations.push({ file, event: event as (typeof invocations)[number]['event'] });
    return answer(event);
  })!;
});

async function authorize(method: string, path: string, authorization?: string) {
  invocations = [];
  return authorizer.authorize(method, path, authorization === undefined ? {} : { Authorization: ['ignored', authorization] });
}

describe('local token authorizer', () => {
  it('guards the provider routes of the template only, as API Gateway routes them', async () => {
    answer = async (event) => allowPolicy((event as { methodArn: string }).methodArn);
    for (const [method, path] of [
      ['POST', '/v1/video/generations'],
      ['POST', '/v1/video/generations/'],
      ['GET', '/v1/video/generations/job-1'],
    ]) {
      expect(await authorize(method!, path!, `Bearer ${TOKEN}`), `${method} ${path}`).toMatchObject({ allowed: true });
    }
    for (const [method, path] of [
      ['POST', '/jobs'],
      ['GET', '/v1/video/generations'],
      ['GET', '/v1/video/generations/a/b'],
      ['DELETE', '/v1/video/generations/job-1'],
    ]) {
      expect(await authorize(method!, path!, `Bearer ${TOKEN}`), `${method} ${path}`).toBeUndefined();
    }
  });

  it('runs the template’s authorizer function with a TOKEN event naming the method, and passes its context on', async () => {
    answer = async (event) => allowPolicy((event as { methodArn: string }).methodArn);
    const outcome = await authorize('GET', '/v1/video/generations/job-1', `Bearer ${TOKEN}`);
    expect(outcome).toEqual({ allowed: true, authorizer: { principalId: 'token:0123456789abcdef', tokenId: '0123456789abcdef' } });
    expect(invocations).toHaveLength(1);
    expect(invocations[0]!.file).toBe(HANDLER.tokenAuthorizer);
    // The last Authorization header sent, as API Gateway's single-value headers hold it.
    expect(invocations[0]!.event.authorizationToken).toBe(`Bearer ${TOKEN}`);
    expect(invocations[0]!.event.methodArn).toMatch(new RegExp(`^arn:aws:execute-api:[\\w-]+:\\d+:\\w+/${DROP_IN_STAGE}/GET/v1/video/generations/job-1$`));
  });

  it('refuses a missing header, or one that fails the validation expression, with the 401 gateway response and no invocation', async () => {
    for (const header of [undefined, '', 'Bearer nope', `Basic ${TOKEN}`]) {
      const outcome = await authorize('POST', '/v1/video/generations', header);
      expect(outcome, String(header)).toMatchObject({ allowed: false, statusCode: 401 });
      expect(JSON.parse((outcome as { body: string }).body)).toEqual(UNAUTHORIZED_BODY);
      expect(invocations).toEqual([]);
    }
  });

  it('answers a thrown Unauthorized with 401, a Deny with 403 and a failure with 500, each in the gateway’s error shape', async () => {
    answer = async () => {
      throw new Error('Unauthorized');
    };
    expect(JSON.parse(((await authorize('POST', '/v1/video/generations', `Bearer ${TOKEN}`)) as { body: string }).body)).toEqual(UNAUTHORIZED_BODY);

    answer = async (event) => allowPolicy((event as { methodArn: string }).methodArn, 'Deny');
    const denied = (await authorize('POST', '/v1/video/generations', `Bearer ${TOKEN}`)) as { statusCode: number; body: string };
    expect(denied.statusCode).toBe(403);
    expect(JSON.parse(denied.body)).toMatchObject({ error: { type: 'invalid_request_error', code: 'ACCESS_DENIED' } });

    // An Allow for another method is no Allow for this one.
    answer = async () => allowPolicy('arn:aws:execute-api:us-east-1:000000000000:other/provider/GET/*');
    expect(await authorize('POST', '/v1/video/generations', `Bearer ${TOKEN}`)).toMatchObject({ allowed: false, statusCode: 403 });

    answer = async () => {
      throw new Error('DynamoDB is down');
    };
    const failed = (await authorize('POST', '/v1/video/generations', `Bearer ${TOKEN}`)) as { statusCode: number; body: string };
    expect(failed.statusCode).toBe(500);
    expect(JSON.parse(failed.body)).toMatchObject({ error: { type: 'server_error', code: 'AUTHORIZER_FAILURE' } });
  });
});
