import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBundledFunctions, type BundledFunctions } from '../../local/stack/bundled/bundled-functions.js';
import { provideRuntimeModules } from '../../local/stack/bundled/runtime-modules.js';
import type { CfnTemplate } from '../../local/stack/cloud-assembly.js';
import { lambdaRuntimeVariables } from '../../local/stack/function-environment.js';
import { HANDLER_METADATA_KEY } from '../../infra/constructs/house-function.js';

/**
 * The bundled tier's runtime on hand-written "bundles" laid out as in a cloud assembly: what a
 * function's process can import, what it sees of its environment, and what its errors look like.
 * test/e2e/job-path-bundled.test.ts runs the real bundles.
 */

const BUNDLES: Record<string, string> = {
  // Imports the runtime's SDK and reports what the process sees.
  sees: `import { S3Client } from '@aws-sdk/client-s3';
export const handler = async (event, context) => ({ event, sdk: typeof S3Client, nodePath: process.env.NODE_PATH ?? null,
  home: process.env.HOME ?? null, setting: process.env.SETTING, functionName: context.functionName, left: context.getRemainingTimeInMillis() > 0 });`,
  // A package the bundle should have bundled: on Lambda it is not there.
  unbundled: `import { z } from 'zod';
export const handler = async () => z.string().parse('never');`,
  fails: `export const handler = async () => { const error = new Error('the task failed'); error.name = 'PROVIDER_TASK_FAILED'; throw error; };`,
  // Counts the invocations its process took: 1 again means a new process.
  exits: `let invocations = 0;
export const handler = async (event) => { invocations += 1; if (event.exit) process.exit(3); return invocations; };`,
};

let root: string;
let functions: BundledFunctions;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bundled-functions-test-'));
  await provideRuntimeModules(root);
  const template: CfnTemplate = { Resources: {} };
  const bundles = new Map<string, string>();
  for (const [name, code] of Object.entries(BUNDLES)) {
    const folder = join(root, 'cdk.out', `asset.${name}`);
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'index.mjs'), code);
    template.Resources[name] = {
      Type: 'AWS::Lambda::Function',
      Properties: { Runtime: 'nodejs24.x', Handler: 'index.handler', Timeout: 30, MemorySize: 256 },
      Metadata: { [HANDLER_METADATA_KEY]: name },
    };
    bundles.set(name, folder);
  }
  functions = startBundledFunctions({ template, bundles, environmentOf: (id) => ({ ...lambdaRuntimeVariables(template, id), SETTING: `of ${id}` }) });
});

afterAll(async () => {
  await functions?.close();
  await rm(root, { recursive: true, force: true });
});

const invoke = async (name: string, event: unknown = {}) => (await functions.loader(name))(event);

describe('a function run from its bundle', () => {
  it("imports the runtime's AWS SDK, gets its event as JSON and only its own environment, with no NODE_PATH", async () => {
    expect(await invoke('sees', { at: new Date(0), skipped: undefined })).toEqual({
      event: { at: '1970-01-01T00:00:00.000Z' },
      sdk: 'function',
      nodePath: null,
      home: null,
      setting: 'of sees',
      functionName: 'sees',
      left: true,
    });
  });

  it('fails to start when it imports a package it did not bundle', async () => {
    await expect(invoke('unbundled')).rejects.toThrow(/unbundled failed to start: Cannot find package 'zod'/);
  });

  it('fails an invocation with the error type and message its handler threw, as Step Functions sees them', async () => {
    await expect(invoke('fails')).rejects.toMatchObject({ name: 'PROVIDER_TASK_FAILED', message: 'the task failed' });
  });

  it('fails what a process that exits was running, and starts a new one for the next invocation', async () => {
    expect(await invoke('exits')).toBe(1);
    expect(await invoke('exits')).toBe(2);
    await expect(invoke('exits', { exit: true })).rejects.toMatchObject({ name: 'Runtime.ExitError' });
    expect(await invoke('exits')).toBe(1);
  });
});
