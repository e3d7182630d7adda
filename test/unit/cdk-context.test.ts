import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CdkContextError, cdkContext, contextFromAssignments, projectContext, startContextFromArgs } from '../../local/stack/cdk-context.js';
import { generateRequestFromArgs } from '../../local/commands/generate-request.js';
import { pipelineConfigFrom } from '../../infra/config.js';

const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A project folder with this cdk.json (text as given, or an object), or none. */
function project(cdkJson?: string | object): string {
  const dir = mkdtempSync(join(tmpdir(), 'cdk-context-'));
  dirs.push(dir);
  if (cdkJson !== undefined) writeFileSync(join(dir, 'cdk.json'), typeof cdkJson === 'string' ? cdkJson : JSON.stringify(cdkJson));
  return dir;
}

const CDK_JSON = {
  app: 'npx tsx infra/app.ts',
  context: { providerModels: ['seedance-fast', 'seedance-pro'], jobDeadlineMinutes: 30, retainData: false },
};

describe('contextFromAssignments (-c key=value, as the CDK CLI reads it)', () => {
  it('splits at the first = and keeps every value as the text typed, as cdk synth hands it to the app', () => {
    expect(contextFromAssignments(['maxJobsInFlight=8', 'retainData=true', 'providerModels=["a"]', 'batchSchedule=rate(1 hour)', 'k=a=b', 'empty='])).toEqual({
      maxJobsInFlight: '8',
      retainData: 'true',
      providerModels: '["a"]',
      batchSchedule: 'rate(1 hour)',
      k: 'a=b',
      empty: '',
    });
  });

  it('the last of repeated keys wins', () => {
    expect(contextFromAssignments(['maxJobsInFlight=8', 'maxJobsInFlight=9'])).toEqual({ maxJobsInFlight: '9' });
  });

  it('refuses an argument without =, an empty key and a reserved aws: key', () => {
    expect(() => contextFromAssignments(['maxJobsInFlight'])).toThrow(new CdkContextError('-c maxJobsInFlight: expected key=value'));
    expect(() => contextFromAssignments(['=8'])).toThrow(CdkContextError);
    expect(() => contextFromAssignments(['aws:cdk:bundling-stacks=[]'])).toThrow(/reserved for the CDK/);
  });
});

describe('cdkContext (cdk.json under -c)', () => {
  it('takes cdk.json with its JSON types, and -c over it', () => {
    const context = cdkContext(['jobDeadlineMinutes=7', 'maxJobsInFlight=8'], project(CDK_JSON));
    expect(context).toEqual({ providerModels: ['seedance-fast', 'seedance-pro'], jobDeadlineMinutes: '7', retainData: false, maxJobsInFlight: '8' });
    // What the synthesized stack gets from it: the same config `cdk synth -c ...` would build.
    expect(pipelineConfigFrom((key) => context[key])).toMatchObject({
      providerModels: ['seedance-fast', 'seedance-pro'],
      maxJobsInFlight: 8,
      retainData: false,
    });
    expect(pipelineConfigFrom((key) => context[key]).jobDeadline.toMinutes()).toBe(7);
  });

  it("reads this repository's cdk.json", () => {
    expect(cdkContext([], process.cwd())).toMatchObject({ providerModels: ['seedance-fast'], jobDeadlineMinutes: 30 });
  });

  it('a project without cdk.json has only the -c context', () => {
    expect(projectContext(project())).toEqual({});
    expect(cdkContext(['maxJobsInFlight=3'], project())).toEqual({ maxJobsInFlight: '3' });
  });

  it('a bad value is one line naming the key, the value and where it came from', () => {
    const dir = project(CDK_JSON);
    const error = (() => {
      try {
        cdkContext(['jobDeadlineMinutes=600', 'maxJobsInFlight=many'], dir);
      } catch (caught) {
        return caught;
      }
    })() as Error;
    expect(error).toBeInstanceOf(CdkContextError);
    expect(error.message).not.toContain('\n');
    expect(error.message).toMatch(/^invalid CDK context: /);
    expect(error.message).toContain('jobDeadlineMinutes (from -c, "600")');
    expect(error.message).toContain('maxJobsInFlight (from -c, "many")');

    // As with cdk synth, a -c value is text: a JSON array typed on the command line is not a list.
    expect(() => cdkContext(['providerModels=["a"]'], dir)).toThrow(/providerModels \(from -c, "\[\\"a\\"\]"\)/);
    expect(() => cdkContext([], project({ context: { maxJobsInFlight: 0 } }))).toThrow(/maxJobsInFlight \(from cdk\.json, 0\)/);
  });

  it('a cdk.json that is not JSON, or whose context is not an object, is a clear error', () => {
    expect(() => cdkContext([], project('{ "context": '))).toThrow(/cdk\.json is not valid JSON/);
    expect(() => cdkContext([], project({ context: ['maxJobsInFlight'] }))).toThrow(/"context" must be an object/);
  });
});

describe('command lines', () => {
  it('npm start takes -c and --context in every spelling, and nothing else', () => {
    const dir = project(CDK_JSON);
    expect(
      startContextFromArgs(
        ['-c', 'maxJobsInFlight=8', '--context', 'jobDeadlineMinutes=7', '--context=sweepSchedule=rate(1 minute)', '-cbatchSchedule=rate(2 hours)'],
        dir,
      ),
    ).toMatchObject({
      maxJobsInFlight: '8',
      jobDeadlineMinutes: '7',
      sweepSchedule: 'rate(1 minute)',
      batchSchedule: 'rate(2 hours)',
    });
    expect(() => startContextFromArgs(['--image', 'x.png'], dir)).toThrow(CdkContextError);
    expect(() => startContextFromArgs(['maxJobsInFlight=8'], dir)).toThrow(/usage: npm start -- \[-c key=value\]/);
  });

  it('npm run generate takes -c beside its own flags and the prompt', async () => {
    const parsed = await generateRequestFromArgs(['A', 'cat', '-c', 'maxJobsInFlight=8', '--duration', '6', '--context', 'jobDeadlineMinutes=5', '--no-audio']);
    expect(parsed.contextAssignments).toEqual(['maxJobsInFlight=8', 'jobDeadlineMinutes=5']);
    expect(parsed.body).toMatchObject({ content: [{ type: 'text', text: 'A cat' }], duration: 6, generate_audio: false });
    expect((await generateRequestFromArgs(['A cat'])).contextAssignments).toEqual([]);
  });
});
