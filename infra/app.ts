import { App } from 'aws-cdk-lib';
import { pipelineConfigFrom } from './config.js';
import { VideoPipelineStack } from './stack.js';

const app = new App();
new VideoPipelineStack(app, 'VideoPipeline', {
  config: pipelineConfigFrom((key) => app.node.tryGetContext(key)),
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
app.synth();
