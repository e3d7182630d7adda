import type { Duration } from 'aws-cdk-lib';
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { AdmissionControl } from './constructs/admission-control.js';
import { CompletionEvents } from './constructs/completion-events.js';
import { DropInApi } from './constructs/drop-in-api.js';
import { GenerationWorkflow } from './constructs/generation-workflow.js';
import { IntakeApi } from './constructs/intake-api.js';
import { JobStore } from './constructs/job-store.js';
import { JobSweeper } from './constructs/job-sweeper.js';
import { Monitoring } from './constructs/monitoring.js';
import { JobTriggers } from './constructs/triggers.js';
import { WebhookDelivery } from './constructs/webhook-delivery.js';
import type { WebhookEvent } from '../contracts/webhooks.js';

export interface PipelineConfig {
  providerBaseUrl: string;
  providerModels: string[];
  /** Name of the Secrets Manager secret that holds the provider key as a plain string. */
  providerApiKeySecretName: string;
  jobDeadline: Duration;
  retainData: boolean;
  /** EventBridge schedule expression for the batch function. */
  batchSchedule: string;
  /** Jobs holding a slot of the provider at once (from their admission until their provider task ends), at most. */
  maxJobsInFlight: number;
  /** The longest a job waits in the admission line; then it ends TIMED_OUT (QUEUE_TIMEOUT). */
  maxQueue: Duration;
  /** How long past its deadline a job's provider task is followed, so a late video is stored. */
  lateFollow: Duration;
  /** The oldest waiting job's age that raises the alarm. */
  queueAgeAlarm: Duration;
  /** EventBridge schedule expression for the stuck-job sweep. */
  sweepSchedule: string;
  /** Where the events of jobs that name no webhook go (context webhookUrl, webhookEvents). */
  defaultWebhook?: { url: string; events: WebhookEvent[] };
  /** The name of the webhook signing secret generated at deploy. */
  webhookSecretName: string;
}

export interface VideoPipelineStackProps extends StackProps {
  config: PipelineConfig;
}

/** Wiring only: each construct owns its resources, and they meet through grants. */
export class VideoPipelineStack extends Stack {
  public readonly store: JobStore;
  public readonly workflow: GenerationWorkflow;
  public readonly intake: IntakeApi;
  public readonly dropIn: DropInApi;
  public readonly events: CompletionEvents;
  public readonly triggers: JobTriggers;
  public readonly sweeper: JobSweeper;
  public readonly admission: AdmissionControl;
  public readonly monitoring: Monitoring;
  public readonly webhooks: WebhookDelivery;

  constructor(scope: Construct, id: string, props: VideoPipelineStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.store = new JobStore(this, 'JobStore', { retainData: config.retainData });
    this.events = new CompletionEvents(this, 'CompletionEvents');
    const providerApiKey = Secret.fromSecretNameV2(this, 'ProviderApiKey', config.providerApiKeySecretName);
    this.workflow = new GenerationWorkflow(this, 'Workflow', {
      table: this.store.table,
      bucket: this.store.bucket,
      eventBus: this.events.bus,
      providerApiKey,
      providerBaseUrl: config.providerBaseUrl,
      jobDeadline: config.jobDeadline,
      lateFollow: config.lateFollow,
      admission: this.store.admission,
      maxJobsInFlight: config.maxJobsInFlight,
    });
    const intakeResources = {
      table: this.store.table,
      bucket: this.store.bucket,
      stateMachine: this.workflow.stateMachine,
      eventBus: this.events.bus,
      jobDeadline: config.jobDeadline,
      providerModels: config.providerModels,
      admission: this.store.admission,
      maxJobsInFlight: config.maxJobsInFlight,
      maxQueue: config.maxQueue,
      ...(config.defaultWebhook ? { defaultWebhook: config.defaultWebhook } : {}),
    };
    this.intake = new IntakeApi(this, 'Intake', intakeResources);
    this.dropIn = new DropInApi(this, 'DropIn', {
      intake: this.intake.handler,
      retainData: config.retainData,
      logsAccount: this.intake.logsAccount,
    });
    this.triggers = new JobTriggers(this, 'Triggers', {
      ...intakeResources,
      manifests: this.store.manifests,
      batchSchedule: config.batchSchedule,
    });
    this.admission = new AdmissionControl(this, 'Admission', intakeResources);
    this.sweeper = new JobSweeper(this, 'Sweeper', { ...intakeResources, sweepSchedule: config.sweepSchedule });
    this.webhooks = new WebhookDelivery(this, 'Webhooks', {
      table: this.store.table,
      bucket: this.store.bucket,
      eventBus: this.events.bus,
      apiUrl: this.intake.api.url,
      secretName: config.webhookSecretName,
    });
    this.monitoring = new Monitoring(this, 'Monitoring', {
      stateMachine: this.workflow.stateMachine,
      uploadDeadLetters: this.triggers.uploadDeadLetters,
      webhookDeadLetters: this.webhooks.deadLetters,
      queueAgeAlarm: config.queueAgeAlarm,
    });
    new CfnOutput(this, 'ApiUrl', { value: this.intake.api.url });
    new CfnOutput(this, 'DropInApiUrl', { value: this.dropIn.api.url });
    new CfnOutput(this, 'TokensTableName', { value: this.dropIn.tokens.tableName });
    new CfnOutput(this, 'VideoBucketName', { value: this.store.bucket.bucketName });
    new CfnOutput(this, 'JobsTableName', { value: this.store.table.tableName });
    new CfnOutput(this, 'EventBusName', { value: this.events.bus.eventBusName });
    new CfnOutput(this, 'WebhookSecretArn', { value: this.webhooks.secret.secretArn });
  }
}
