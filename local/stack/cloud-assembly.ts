import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { pipelineConfigFrom } from '../../infra/config.js';
import { featureFlags } from '../../infra/feature-flags.js';
import { VideoPipelineStack } from '../../infra/stack.js';

export type CfnResource = { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> };
export type CfnTemplate = { Resources: Record<string, CfnResource> };

/**
 * Synthesizes the real stack in-process, the one `cdk deploy` ships, so the local stack runs the
 * very state machine and function settings AWS gets. Bundling is skipped (the local stack imports
 * the handler sources) and so is the slow CloudFormation schema check (the infra tests keep it on).
 */
export function synthesizePipelineTemplate(context: Record<string, unknown> = {}): CfnTemplate {
  const outdir = mkdtempSync(join(tmpdir(), 'video-pipeline-synth-'));
  try {
    const app = new App({
      outdir,
      context: { ...featureFlags(), 'aws:cdk:bundling-stacks': [], ...context },
      builtinCloudFormationValidation: false,
    });
    const stack = new VideoPipelineStack(app, 'VideoPipeline', {
      config: pipelineConfigFrom((key) => app.node.tryGetContext(key)),
    });
    return Template.fromStack(stack).toJSON() as CfnTemplate;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
