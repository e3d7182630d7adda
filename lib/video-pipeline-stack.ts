import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { GenerationWorkflow } from './generation-workflow.js';
import { IntakeApi } from './intake-api.js';
import { JobStore } from './job-store.js';

export interface PipelineConfig {
  providerBaseUrl: string;
  providerModels: string[];
  /** Name of the Secrets Manager secret that holds the provider key as a plain string. */
  providerApiKeySecretName: string;
  jobDeadline: Duration;
  retainData: boolean;
}

export interface VideoPipelineStackProps extends StackProps {
  config: PipelineConfig;
}

/** Wiring only: each construct owns its resources, and they meet through grants. */
export class VideoPipelineStack extends Stack {
  public readonly store: JobStore;
  public readonly workflow: GenerationWorkflow;
  public readonly intake: IntakeApi;

  constructor(scope: Construct, id: string, props: VideoPipelineStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.store = new JobStore(this, 'JobStore', { retainData: config.retainData });
    const providerApiKey = Secret.fromSecretNameV2(this, 'ProviderApiKey', config.providerApiKeySecretName);
    this.workflow = new GenerationWorkflow(this, 'Workflow', {
      table: this.store.table,
      bucket: this.store.bucket,
      providerApiKey,
      providerBaseUrl: config.providerBaseUrl,
      jobDeadline: config.jobDeadline,
    });
    this.intake = new IntakeApi(this, 'Intake', {
      table: this.store.table,
      bucket: this.store.bucket,
      stateMachine: this.workflow.stateMachine,
      jobDeadline: config.jobDeadline,
      providerModels: config.providerModels,
    });
    new CfnOutput(this, 'ApiUrl', { value: this.intake.api.url });
    new CfnOutput(this, 'VideoBucketName', { value: this.store.bucket.bucketName });
    new CfnOutput(this, 'JobsTableName', { value: this.store.table.tableName });
  }
}
