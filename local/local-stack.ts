import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { startAwsJsonEndpoint } from './aws-json-endpoint.js';
import { synthesizePipelineTemplate } from './cloud-assembly.js';
import { createTables, startDynamoDb, startS3 } from './emulators.js';
import { startLocalHttpApi } from './http-api.js';
import { pipelineDefinitionFrom } from './pipeline-definition.js';
import { startProviderSimulator, type ProviderSimulator } from './simulator/server.js';
import { StepFunctionsEngine } from './step-functions-engine.js';
import { bindTaskStates } from './task-bindings.js';
import { LOCAL_REGION } from './template-resolver.js';

export const DEFAULT_PROVIDER_KEY = 'local-provider-key';
/** The deadline AWS gets by default (30 min), scaled with the rest of local time. */
const DEFAULT_DEADLINE_SECONDS = 30 * 60;
const MIN_LOCAL_DEADLINE_SECONDS = 10;

export interface LocalStackOptions {
  /** Where s3rver's objects and the simulator's MP4s live. */
  dataDir: string;
  /** Port of the HTTP API; 0 picks a free one. */
  port?: number;
  /** Scales simulated generation time, workflow waits and retry intervals. */
  timeScale: number;
  /** The key the provider simulator accepts. */
  providerApiKey?: string;
  /** The key the workflow reads from (local) Secrets Manager; differs from providerApiKey to test a bad key. */
  workflowApiKey?: string;
  deadlineSeconds?: number;
}

export interface LocalStack {
  apiUrl: string;
  s3Url: string;
  bucket: string;
  tableName: string;
  stateMachineArn: string;
  simulator: ProviderSimulator;
  engine: StepFunctionsEngine;
  /** Environment the handlers run with (the SDK endpoints, credentials, names). */
  environment: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * The whole pipeline on one machine: dynalite, s3rver, the provider simulator, the synthesized state
 * machine on the local engine, and the intake handler behind a local HTTP API. Handlers read their
 * settings from process.env at import, so one process runs one local stack.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const providerApiKey = options.providerApiKey ?? DEFAULT_PROVIDER_KEY;
  const simulator = await startProviderSimulator({
    apiKey: providerApiKey,
    timeScale: options.timeScale,
    dataDir: join(options.dataDir, 'simulator'),
    allowLoopbackHttpMedia: true,
  });
  const template = synthesizePipelineTemplate({ providerBaseUrl: simulator.url });
  const definition = pipelineDefinitionFrom(template);
  const dynamo = await startDynamoDb();
  const s3 = await startS3({ directory: join(options.dataDir, 's3'), bucket: definition.bucketName });

  const deadlineSeconds =
    options.deadlineSeconds ?? Math.max(MIN_LOCAL_DEADLINE_SECONDS, Math.round(DEFAULT_DEADLINE_SECONDS * options.timeScale));
  const { NODE_OPTIONS: _bundleOnly, ...functionEnvironment } = definition.functionEnvironment;
  const environment: Record<string, string> = {
    ...functionEnvironment,
    JOB_DEADLINE_SECONDS: String(deadlineSeconds),
    AWS_REGION: LOCAL_REGION,
    // s3rver accepts only these; dynalite and our endpoint accept anything.
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.url,
    AWS_ENDPOINT_URL_S3: s3.url,
    S3_FORCE_PATH_STYLE: 'true',
    ALLOW_INSECURE_LOOPBACK_VIDEO_URLS: 'true',
    POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
  };
  Object.assign(process.env, environment);
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_SESSION_TOKEN;

  const dynamoClient = new DynamoDBClient({});
  await createTables(dynamoClient, template);

  const engine = new StepFunctionsEngine({
    stateMachineArn: definition.stateMachineArn,
    definition: definition.asl,
    taskHandlers: await bindTaskStates(definition.asl, dynamoClient),
    timeScale: options.timeScale,
  });
  const awsEndpoint = await startAwsJsonEndpoint({
    engine,
    secrets: { [functionEnvironment.PROVIDER_API_KEY_SECRET_ID ?? '']: options.workflowApiKey ?? providerApiKey },
  });
  process.env.AWS_ENDPOINT_URL_SFN = environment.AWS_ENDPOINT_URL_SFN = awsEndpoint.url;
  process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = environment.AWS_ENDPOINT_URL_SECRETS_MANAGER = awsEndpoint.url;

  const intake = (await import('../lambdas/intake.js')) as {
    handler: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
  };
  const api = await startLocalHttpApi(intake.handler, { port: options.port ?? 0 });

  return {
    apiUrl: api.url,
    s3Url: s3.url,
    bucket: definition.bucketName,
    tableName: definition.tableName,
    stateMachineArn: definition.stateMachineArn,
    simulator,
    engine,
    environment,
    async stop() {
      await api.close();
      await engine.close();
      await awsEndpoint.close();
      await simulator.stop();
      await s3.close();
      await dynamo.close();
      dynamoClient.destroy();
    },
  };
}
