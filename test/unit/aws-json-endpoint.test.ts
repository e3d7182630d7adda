import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAwsJsonEndpoint, type AwsJsonEndpoint } from '../../local/emulators/stepfunctions/aws-json-endpoint.js';
import { createEventLog, type EventLog } from '../../local/emulators/eventbridge/event-log.js';
import { StepFunctionsEngine } from '../../local/emulators/stepfunctions/step-functions-engine.js';

const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine:Hold';
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

let directory: string;
let engine: StepFunctionsEngine;
let endpoint: AwsJsonEndpoint;
let eventLog: EventLog;
const published: { busName: string; detailType: string }[] = [];
let eventBridge: EventBridgeClient;
let sfn: SFNClient;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'aws-json-endpoint-'));
  eventLog = createEventLog(join(directory, 'events.jsonl'));
  // An execution that stays RUNNING until the engine closes: StartExecution is idempotent only then.
  engine = new StepFunctionsEngine({
    stateMachineArn: STATE_MACHINE_ARN,
    definition: { StartAt: 'Hold', States: { Hold: { Type: 'Wait', Seconds: 600, End: true } } },
    taskHandlers: {},
    timeScale: 1,
  });
  endpoint = await startAwsJsonEndpoint({
    engine,
    secrets: {},
    eventBuses: {
      busNames: ['default', 'CompletionBus'],
      publish(event, busName) {
        eventLog.append(event);
        published.push({ busName, detailType: event['detail-type'] });
      },
    },
  });
  eventBridge = new EventBridgeClient({ endpoint: endpoint.url, region: 'us-east-1', credentials });
  sfn = new SFNClient({ endpoint: endpoint.url, region: 'us-east-1', credentials });
});

afterAll(async () => {
  eventBridge?.destroy();
  sfn?.destroy();
  await engine?.close();
  await endpoint?.close();
  await rm(directory, { recursive: true, force: true });
});

describe('EventBridge PutEvents', () => {
  it('turns each entry into the event EventBridge delivers, logs it and hands it to its bus', async () => {
    const answer = await eventBridge.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: 'CompletionBus',
            Source: 'video-pipeline',
            DetailType: 'Job Succeeded',
            Detail: JSON.stringify({ jobId: 'job-1', status: 'SUCCEEDED' }),
            Resources: ['arn:aws:states:us-east-1:000000000000:execution:Hold:job-1'],
            Time: new Date('2026-01-02T03:04:05.678Z'),
          },
          // The bus by ARN, as a handler given EventBus.eventBusArn would name it.
          {
            EventBusName: 'arn:aws:events:us-east-1:000000000000:event-bus/CompletionBus',
            Source: 'video-pipeline',
            DetailType: 'Job Failed',
            Detail: '{"jobId":"job-2"}',
          },
        ],
      }),
    );
    expect(answer.FailedEntryCount).toBe(0);
    expect(answer.Entries).toHaveLength(2);

    const lines = (await readFile(eventLog.file, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toEqual({
      version: '0',
      id: answer.Entries![0]!.EventId,
      'detail-type': 'Job Succeeded',
      source: 'video-pipeline',
      account: '000000000000',
      time: '2026-01-02T03:04:05Z',
      region: 'us-east-1',
      resources: ['arn:aws:states:us-east-1:000000000000:execution:Hold:job-1'],
      detail: { jobId: 'job-1', status: 'SUCCEEDED' },
    });
    expect(lines[1]).toMatchObject({ id: answer.Entries![1]!.EventId, 'detail-type': 'Job Failed', resources: [] });
    expect(eventLog.events()).toEqual(lines);
    expect(published).toEqual([
      { busName: 'CompletionBus', detailType: 'Job Succeeded' },
      { busName: 'CompletionBus', detailType: 'Job Failed' },
    ]);
  });

  it('fails the entries AWS would refuse, each on its own, and publishes the rest', async () => {
    published.length = 0;
    const answer = await eventBridge.send(
      new PutEventsCommand({
        Entries: [
          { EventBusName: 'NoSuchBus', Source: 's', DetailType: 'd', Detail: '{}' },
          { Source: 's', DetailType: 'd', Detail: 'not json' },
          { Source: 's', DetailType: 'd', Detail: '[1]' },
          { DetailType: 'd', Detail: '{}' },
          { Source: 'video-pipeline', DetailType: 'Job Cancelled', Detail: '{}' },
        ],
      }),
    );
    expect(answer.FailedEntryCount).toBe(4);
    expect(answer.Entries!.map((entry) => entry.ErrorCode ?? 'ok')).toEqual([
      'ResourceNotFoundException',
      'MalformedDetail',
      'MalformedDetail',
      'InvalidArgument',
      'ok',
    ]);
    expect(published).toEqual([{ busName: 'default', detailType: 'Job Cancelled' }]);
  });

  it('refuses more than 10 entries as a whole', async () => {
    const entry = { Source: 's', DetailType: 'd', Detail: '{}' };
    await expect(eventBridge.send(new PutEventsCommand({ Entries: Array.from({ length: 11 }, () => entry) }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
  });
});

describe('Step Functions StartExecution', () => {
  it('is idempotent for the same name and input, and refuses the same name with another input', async () => {
    const start = (input: string) => sfn.send(new StartExecutionCommand({ stateMachineArn: STATE_MACHINE_ARN, name: 'job-1', input }));
    const first = await start('{"jobId":"job-1"}');
    const again = await start('{"jobId":"job-1"}');
    expect(again.executionArn).toBe(first.executionArn);
    expect(first.executionArn).toBe('arn:aws:states:us-east-1:000000000000:execution:Hold:job-1');
    await expect(start('{"jobId":"other"}')).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });
  });
});
