import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { DeliveryFailure } from '../emulators/eventbridge/async-invoke.js';
import { putEvents, startAwsJsonEndpoint, type EventBusesOptions } from '../emulators/stepfunctions/aws-json-endpoint.js';
import { synthesizeBundledPipeline, synthesizePipelineTemplate } from './cloud-assembly.js';
import { createAccessCheck, type AccessCheck } from './access/access-check.js';
import { endpointObservers } from './access/endpoint-observers.js';
import { startBundledFunctions } from './bundled/bundled-functions.js';
import { provideRuntimeModules } from './bundled/runtime-modules.js';
import { bundledFunctionEnvironment } from './function-environment.js';
import { signingAsItsFunction } from './function-credentials.js';
import { startDynamoDbMeter } from '../emulators/dynamodb/dynamodb-meter.js';
import { createTables, startDynamoDb, startS3 } from '../emulators/emulators.js';
import { createEventLog } from '../emulators/eventbridge/event-log.js';
import { createEventRouter } from '../emulators/eventbridge/event-router.js';
import { executionStatusEvent, type BusEvent } from '../emulators/eventbridge/eventbridge-events.js';
import { apiHandlerFile, createHandlerLoader } from './handler-modules.js';
import { localConsoleRoute } from './console-routes.js';
import { CHECKOUT } from './stack-file.js';
import { startLocalHttpApi } from './http-api.js';
import { localAuthorizerOf } from './api-authorizer.js';
import { pipelineDefinitionFrom, webhookDeliveryDefinitionFrom } from './pipeline-definition.js';
import { localWebhookSecret } from './webhook-secret.js';
import { WEBHOOK_TIMEOUT_MS } from '../../contracts/webhooks.js';
import { receiverSecret } from '../../runtime/webhooks/signing.js';
import { connectS3EventSource, eventBridgeEnabledBuckets } from '../emulators/s3/s3-event-source.js';
import { crashingLoader, type ChaosOptions, type ChaosStats } from './chaos.js';
import { scheduledEvent, startSchedules, type Schedules } from '../emulators/eventbridge/schedules.js';
import { HANDLER } from '../../contracts/handlers.js';
import type { SweepReport } from '../../runtime/sweeper/job-sweeper.js';
import type { SimulatorFaultsInput } from '../simulator/faults.js';
import { startProviderSimulator, type ProviderSimulator } from '../simulator/server.js';
import { StepFunctionsEngine } from '../emulators/stepfunctions/step-functions-engine.js';
import { bindTaskStates } from './task-bindings.js';
import { LOCAL_REGION, localPhysicalName, logicalIdsOfType } from './template-resolver.js';
import { functionMemoryMb, UsageMeter, type Usage } from './usage.js';

export const DEFAULT_PROVIDER_KEY = 'local-provider-key';
const MIN_LOCAL_DEADLINE_SECONDS = 10;

export interface LocalStackOptions {
  /** Where s3rver's objects and the simulator's MP4s live. */
  dataDir: string;
  /** Port of the HTTP API; 0 picks a free one. */
  port?: number;
  /** Port of the local S3; 0 (the default) picks a free one. */
  s3Port?: number;
  /** Scales simulated generation time, workflow waits and retry intervals. */
  timeScale: number;
  /** The key the provider simulator accepts. */
  providerApiKey?: string;
  /** The key the workflow reads from (local) Secrets Manager; differs from providerApiKey to test a bad key. */
  workflowApiKey?: string;
  /** Default: the template's (context jobDeadlineMinutes), scaled with the rest of local time, at least 10 s. */
  deadlineSeconds?: number;
  /** Run the template's rate(...) schedules (the batch function); off by default so tests stay deterministic. */
  schedules?: boolean;
  /** CDK context for the synthesized stack, as `cdk deploy -c` would pass it (e.g. maxJobsInFlight). */
  context?: Record<string, unknown>;
  /** Provider faults to inject from the start (also switchable at runtime: simulator.setFaults). */
  simulatorFaults?: SimulatorFaultsInput;
  /** The provider simulator's quota of unfinished tasks (SIMULATOR_MAX_ACTIVE_TASKS; default 120, as the upstream's). */
  simulatorMaxActiveTasks?: number;
  /** Crashes and duplicate deliveries around the functions (the chaos run). */
  chaos?: ChaosOptions;
  /**
   * Run every function from its deployable bundle (the esbuild output of `cdk synth`), each in a
   * process of its own with only the Lambda runtime's environment and SDK (local/stack/bundled/),
   * instead of importing the handler sources in-process. Bundling adds seconds to the start.
   */
  bundled?: boolean;
  /** Record every AWS call of the functions and the state machine, to judge it against their roles (LocalStack.access). */
  checkAccess?: boolean;
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
  /** The webhook delivery state machine's engine (a second one, on the same template). */
  webhookEngine: StepFunctionsEngine;
  /** The signing secret as receivers hold it (`whsec_…`), kept in the data directory across restarts. */
  webhookSecret: string;
  /** Webhook events whose every attempt failed (the dead-letter queue's messages), oldest first. */
  webhookDeadLetters(): unknown[];
  /** Events published with PutEvents (the completion events) since the start, oldest first. */
  events(): BusEvent[];
  /** Where each published event is appended as a JSON line. */
  eventsFile: string;
  /** Resolves once every event delivery started so far (S3 uploads, PutEvents) has settled. */
  deliveriesIdle(): Promise<void>;
  /** Deliveries and scheduled runs whose handler still failed after Lambda's retries. */
  deliveryFailures(): DeliveryFailure[];
  /** What the start-up sweep did with jobs left in flight by an earlier run. */
  recovered: SweepReport;
  /** What the chaos options injected so far. */
  chaosStats: ChaosStats;
  /** Invokes a function by its handler file, as its trigger would (e.g. one batch run now). */
  invokeFunction(handlerFile: string, event: unknown): Promise<unknown>;
  /** What the pipeline used of each AWS service since the start, in billing units (local/stack/usage.ts). */
  usage(): Usage;
  /** With `checkAccess`: the calls recorded so far and those their role would deny (local/stack/access/access-check.ts). */
  access?: Pick<AccessCheck, 'callsByPrincipal' | 'denials'>;
  stop(): Promise<void>;
}

/**
 * The whole pipeline on one machine: dynalite, s3rver, the provider simulator, the synthesized state
 * machine on the local engine, and the intake handler behind a local HTTP API, which also serves the
 * console at `/` (its page is built on the first request for it). Handlers read their
 * settings from process.env at import, so one process runs one local stack.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const providerApiKey = options.providerApiKey ?? DEFAULT_PROVIDER_KEY;
  const simulator = await startProviderSimulator({
    apiKey: providerApiKey,
    timeScale: options.timeScale,
    dataDir: join(options.dataDir, 'simulator'),
    allowLoopbackHttpMedia: true,
    ...(options.simulatorFaults ? { faults: options.simulatorFaults } : {}),
    ...(options.simulatorMaxActiveTasks ? { maxActiveTasks: options.simulatorMaxActiveTasks } : {}),
  });
  const context = { ...options.context, providerBaseUrl: simulator.url };
  // The cloud assembly and the runtime's modules live side by side, so a bundle resolves only those.
  const bundleRoot = options.bundled ? await mkdtemp(join(tmpdir(), 'video-pipeline-bundled-')) : undefined;
  const { template, bundles } = bundleRoot
    ? synthesizeBundledPipeline(join(bundleRoot, 'cdk.out'), context)
    : { template: synthesizePipelineTemplate(context), bundles: undefined };
  if (bundleRoot) await provideRuntimeModules(bundleRoot);
  const definition = pipelineDefinitionFrom(template);
  const delivery = webhookDeliveryDefinitionFrom(template);
  // Each function and each state machine sign their calls with an access key of their own (their logical id).
  const { stateMachineId } = definition;
  const accessKeyIds = [...logicalIdsOfType(template, 'AWS::Lambda::Function'), stateMachineId, delivery.logicalId];
  const access = options.checkAccess ? createAccessCheck(template) : undefined;
  const observe = access && endpointObservers(access, template);
  const storedWebhookSecret = await localWebhookSecret(options.dataDir);
  const dynamo = await startDynamoDb({ directory: join(options.dataDir, 'dynamodb') });
  const dynamoMeter = await startDynamoDbMeter(dynamo.url, observe?.dynamoDb);
  const s3 = await startS3({
    directory: join(options.dataDir, 's3'),
    bucket: definition.bucketName,
    port: options.s3Port ?? 0,
    accessKeys: accessKeyIds,
    ...(observe ? { onRequest: observe.s3 } : {}),
  });

  const { NODE_OPTIONS: _bundleOnly, GENERATION_HISTORY_TABLE: historyTable, ...functionEnvironment } = definition.functionEnvironment;
  const deadlineSeconds =
    options.deadlineSeconds ?? Math.max(MIN_LOCAL_DEADLINE_SECONDS, Math.round(Number(functionEnvironment.JOB_DEADLINE_SECONDS) * options.timeScale));
  const environment: Record<string, string> = {
    ...functionEnvironment,
    // The handlers' clock is not scaled, only the waits are: generation times learned at a time
    // scale would be in another unit than the prior and the waits, so the history is on at scale 1 only.
    ...(options.timeScale === 1 && historyTable ? { GENERATION_HISTORY_TABLE: historyTable } : {}),
    JOB_DEADLINE_SECONDS: String(deadlineSeconds),
    SWEEP_START_GRACE_SECONDS: String(Math.max(1, Math.round(Number(functionEnvironment.SWEEP_START_GRACE_SECONDS ?? 120) * options.timeScale))),
    // Like the deadline, the line's limit and a late task's follow window are times the pipeline waits out.
    MAX_QUEUE_SECONDS: String(Math.max(1, Math.round(Number(functionEnvironment.MAX_QUEUE_SECONDS) * options.timeScale))),
    LATE_FOLLOW_SECONDS: String(Math.max(1, Math.round(Number(functionEnvironment.LATE_FOLLOW_SECONDS) * options.timeScale))),
    // The poll policy reads the clock in provider seconds (runtime/workflow/polling/policy-clock.ts).
    LOCAL_TIME_SCALE: String(options.timeScale),
    AWS_REGION: LOCAL_REGION,
    // s3rver accepts only these; dynalite and our endpoint accept anything.
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_ENDPOINT_URL_DYNAMODB: dynamoMeter.url,
    AWS_ENDPOINT_URL_S3: s3.url,
    S3_FORCE_PATH_STYLE: 'true',
    ALLOW_INSECURE_LOOPBACK_VIDEO_URLS: 'true',
    // A receiver that hangs is a failed attempt after this long; scaled with the waits between attempts.
    WEBHOOK_TIMEOUT_MS: String(Math.max(500, Math.round(WEBHOOK_TIMEOUT_MS * options.timeScale))),
    POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
    // Metrics go to CloudWatch through the log on AWS; locally they would only clutter the terminal.
    POWERTOOLS_METRICS_DISABLED: 'true',
  };
  Object.assign(process.env, environment);
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_SESSION_TOKEN;

  const dynamoClient = new DynamoDBClient({});
  await createTables(dynamoClient, template);
  // The state machine's native DynamoDB tasks, signed as its role.
  const stateMachineDynamoDb = new DynamoDBClient({ credentials: { accessKeyId: stateMachineId, secretAccessKey: 'S3RVER' } });

  // One loader for every function, whoever invokes it: each handler module is imported once (or each
  // bundle's process started once), as in a warm Lambda container.
  const bundledFunctions = bundles
    ? startBundledFunctions({
        template,
        bundles,
        // Read at the cold start, when every local endpoint has its address.
        environmentOf: (logicalId) => bundledFunctionEnvironment(template, logicalId, environment, new Set(Object.keys(definition.functionEnvironment))),
      })
    : undefined;
  const handlerModules = bundledFunctions?.loader ?? signingAsItsFunction(createHandlerLoader(), template);
  const meter = new UsageMeter(functionMemoryMb(template));
  const loadHandler = meter.meterLambda(handlerModules);
  const chaosStats: ChaosStats = { taskInvocations: 0, crashedBeforeWork: 0, crashedAfterWork: 0 };
  const invoke = async (handlerFile: string, event: unknown) => (await loadHandler(handlerFile))(event);
  // The delivery engine starts after the API (its function reads the API's address at import).
  let webhookEngine: StepFunctionsEngine | undefined;
  const router = meter.meterEvents(
    createEventRouter({
      template,
      invoke,
      startExecution: async (stateMachineArn, input) => {
        if (!webhookEngine) throw new Error('the webhook delivery engine is not started yet');
        return webhookEngine.startExecution(stateMachineArn, randomUUID(), JSON.stringify(input));
      },
    }),
  );

  const eventLog = createEventLog(join(options.dataDir, 'events.jsonl'));
  // PutEvents from a function (through the endpoint) or from a state (the engine's binding) alike.
  const eventBuses: EventBusesOptions = {
    busNames: ['default', ...logicalIdsOfType(template, 'AWS::Events::EventBus').map((id) => localPhysicalName(template, id))],
    publish(event, busName) {
      // events.jsonl is the stack's own bus, what a user subscribes to; the default bus carries the workflow's word to the admission line.
      if (busName !== 'default') eventLog.append(event);
      router.putEvent(event, busName);
    },
  };
  const engine = new StepFunctionsEngine({
    stateMachineArn: definition.stateMachineArn,
    definition: definition.asl,
    taskHandlers: await bindTaskStates(
      definition.asl,
      template,
      stateMachineDynamoDb,
      // A crash is still an invocation Lambda bills: meter outside it.
      options.chaos ? meter.meterLambda(crashingLoader(handlerModules, options.chaos, chaosStats)) : loadHandler,
      putEvents(eventBuses),
      (calls) => access?.record(stateMachineId, calls),
    ),
    timeScale: options.timeScale,
    // Step Functions publishes every end of an execution to the default bus; the admission rule listens.
    onExecutionEnded: (execution) => router.putEvent(executionStatusEvent(execution)),
    onEvent: (event) => meter.stateMachineEvent(event),
  });
  const awsEndpoint = await startAwsJsonEndpoint({
    engine,
    secrets: {
      [functionEnvironment.PROVIDER_API_KEY_SECRET_ID ?? '']: options.workflowApiKey ?? providerApiKey,
      [functionEnvironment.WEBHOOK_SECRET_ID ?? '']: storedWebhookSecret,
    },
    onRequest: (target) => meter.awsRequest(target),
    ...(observe ? { onCall: observe.awsJson } : {}),
    eventBuses,
  });
  for (const service of ['SFN', 'SECRETS_MANAGER', 'EVENTBRIDGE']) {
    process.env[`AWS_ENDPOINT_URL_${service}`] = environment[`AWS_ENDPOINT_URL_${service}`] = awsEndpoint.url;
  }

  const s3Events = connectS3EventSource({
    server: s3.server,
    buckets: eventBridgeEnabledBuckets(template),
    putEvent: (event) => {
      router.putEvent(event);
      if (options.chaos?.duplicateS3Deliveries) router.putEvent(event);
    },
  });
  const schedules: Schedules | undefined = options.schedules ? startSchedules({ template, timeScale: options.timeScale, invoke }) : undefined;

  const authorizer = localAuthorizerOf(template, loadHandler);
  const intake = (await loadHandler(apiHandlerFile(template))) as (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
  const api = await startLocalHttpApi(intake, {
    port: options.port ?? 0,
    localRoute: localConsoleRoute(
      { endpoint: s3.url, bucket: definition.bucketName, region: LOCAL_REGION },
      { pid: process.pid, dataDir: options.dataDir, checkout: CHECKOUT },
    ),
    // The drop-in API's provider routes take the operator's tokens here too, through the same authorizer function.
    ...(authorizer ? { authorizer } : {}),
  });
  process.env.PUBLIC_API_URL = environment.PUBLIC_API_URL = api.url;
  const deadLetters: unknown[] = [];
  const deadLettersFile = join(options.dataDir, 'webhook-dead-letters.jsonl');
  webhookEngine = new StepFunctionsEngine({
    stateMachineArn: delivery.stateMachineArn,
    definition: delivery.asl,
    taskHandlers: await bindTaskStates(
      delivery.asl,
      template,
      new DynamoDBClient({ credentials: { accessKeyId: delivery.logicalId, secretAccessKey: 'S3RVER' } }),
      loadHandler,
      putEvents(eventBuses),
      (calls) => access?.record(delivery.logicalId, calls),
      (_queueUrl, body) => {
        deadLetters.push(body);
        appendFileSync(deadLettersFile, `${JSON.stringify(body)}\n`);
      },
    ),
    timeScale: options.timeScale,
    onExecutionEnded: (execution) => router.putEvent(executionStatusEvent(execution)),
    onEvent: (event) => meter.stateMachineEvent(event),
  });
  // Executions do not outlive the process, but jobs (on disk) do: one sweep now resumes or ends
  // whatever was in flight when the stack last stopped.
  const recovered = (await invoke(HANDLER.sweeper, scheduledEvent(`arn:aws:events:${LOCAL_REGION}:local:rule/startup-sweep`))) as SweepReport;

  // A delivery can write to S3 (the upload trigger moves its object), and that write can be routed
  // again: wait until a round of waiting starts nothing new.
  const deliveriesIdle = async () => {
    let started: number;
    do {
      started = router.deliveriesStarted();
      await router.idle();
    } while (router.deliveriesStarted() !== started);
  };

  return {
    apiUrl: api.url,
    s3Url: s3.url,
    bucket: definition.bucketName,
    tableName: definition.tableName,
    stateMachineArn: definition.stateMachineArn,
    simulator,
    engine,
    webhookEngine,
    webhookSecret: receiverSecret(storedWebhookSecret),
    webhookDeadLetters: () => [...deadLetters],
    environment,
    events: () => eventLog.events(),
    eventsFile: eventLog.file,
    deliveriesIdle,
    deliveryFailures: () => [...router.failures(), ...(schedules?.failures() ?? [])],
    invokeFunction: invoke,
    usage: () => meter.snapshot({ dynamodb: dynamoMeter.usage(), s3Requests: s3.requests() }),
    recovered,
    chaosStats,
    ...(access ? { access } : {}),
    async stop() {
      await schedules?.stop();
      await api.close();
      s3Events.close();
      await deliveriesIdle();
      // Executions still running are aborted; a task that was mid-flight may still publish, so wait again.
      await engine.close();
      await webhookEngine?.close();
      await router.idle();
      await bundledFunctions?.close();
      await awsEndpoint.close();
      await simulator.stop();
      await s3.close();
      await dynamoMeter.close();
      await dynamo.close();
      dynamoClient.destroy();
      stateMachineDynamoDb.destroy();
      if (bundleRoot) await rm(bundleRoot, { recursive: true, force: true });
    },
  };
}
