import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { pipelineConfigFrom } from './config.js';
import { featureFlags } from './feature-flags.js';
import { VideoPipelineStack } from './stack.js';

/**
 * The app `cdk synth` and `cdk deploy` run (infra/app.ts): the stack, configured from the CDK
 * context, with cdk-nag's AwsSolutions checks registered, so a finding no construct acknowledges
 * fails the synth and nothing gets deployed.
 */
export function createPipelineApp(props: AppProps = {}): { app: App; stack: VideoPipelineStack } {
  const app = new App({ ...props, context: { ...featureFlags(), ...props.context } });
  const stack = new VideoPipelineStack(app, 'VideoPipeline', {
    config: pipelineConfigFrom((key) => app.node.tryGetContext(key)),
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  // verbose: a refused synth explains each rule, not only names it.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stack };
}
