import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { pipelineConfigFrom } from '../../infra/config.js';
import { featureFlags } from '../../infra/feature-flags.js';
import { VideoPipelineStack } from '../../infra/stack.js';
import { logicalIdsOfType, type CfnTemplate } from './template-resolver.js';

export type { CfnResource, CfnTemplate } from './template-resolver.js';

const STACK_NAME = 'VideoPipeline';

/** The real stack, the one `cdk deploy` ships; the slow CloudFormation schema check stays off (the infra tests keep it on). */
function pipelineApp(outdir: string, context: Record<string, unknown>): { app: App; stack: VideoPipelineStack } {
  const app = new App({ outdir, context: { ...featureFlags(), ...context }, builtinCloudFormationValidation: false });
  return { app, stack: new VideoPipelineStack(app, STACK_NAME, { config: pipelineConfigFrom((key) => app.node.tryGetContext(key)) }) };
}

/**
 * Synthesizes the real stack in-process, so the local stack runs the very state machine and function
 * settings AWS gets. Bundling is skipped: the local stack imports the handler sources.
 */
export function synthesizePipelineTemplate(context: Record<string, unknown> = {}): CfnTemplate {
  const outdir = mkdtempSync(join(tmpdir(), 'video-pipeline-synth-'));
  try {
    const { stack } = pipelineApp(outdir, { 'aws:cdk:bundling-stacks': [], ...context });
    return Template.fromStack(stack).toJSON() as CfnTemplate;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

export interface BundledPipeline {
  template: CfnTemplate;
  /** Each function's code as `cdk deploy` would upload it (its asset folder in the cloud assembly), by logical id. */
  bundles: Map<string, string>;
}

/**
 * Synthesizes the stack into a cloud assembly at `outdir` with its functions bundled, as `cdk synth`
 * does (NodejsFunction runs esbuild as infra/constructs/house-function.ts configures it), and finds
 * each function's asset folder through the assembly's asset manifest: the template names the code by
 * the S3 key it will be uploaded to, the manifest says which folder becomes that object.
 */
export function synthesizeBundledPipeline(outdir: string, context: Record<string, unknown> = {}): BundledPipeline {
  pipelineApp(outdir, context).app.synth();
  const template = JSON.parse(readFileSync(join(outdir, `${STACK_NAME}.template.json`), 'utf8')) as CfnTemplate;
  const manifest = JSON.parse(readFileSync(join(outdir, `${STACK_NAME}.assets.json`), 'utf8')) as {
    files: Record<string, { source: { path: string }; destinations: Record<string, { objectKey: string }> }>;
  };
  const folderOfKey = new Map<string, string>();
  for (const file of Object.values(manifest.files)) {
    for (const destination of Object.values(file.destinations)) folderOfKey.set(destination.objectKey, join(outdir, file.source.path));
  }
  const bundles = new Map<string, string>();
  for (const id of logicalIdsOfType(template, 'AWS::Lambda::Function')) {
    const key = (template.Resources[id]!.Properties?.Code as { S3Key?: unknown } | undefined)?.S3Key;
    const folder = typeof key === 'string' ? folderOfKey.get(key) : undefined;
    if (!folder) throw new Error(`function ${id}: its code is not an asset of the cloud assembly`);
    bundles.set(id, folder);
  }
  return { template, bundles };
}
