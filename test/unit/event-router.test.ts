import { describe, expect, it } from 'vitest';
import { createEventRouter } from '../../local/emulators/eventbridge/event-router.js';
import { busEvent } from '../../local/emulators/eventbridge/eventbridge-events.js';
import { eventsTemplate, lambdaTarget } from '../../testkit/events-template.js';

const upload = (key: string, bucket = 'videos') =>
  busEvent({ source: 'aws.s3', detailType: 'Object Created', detail: { bucket: { name: bucket }, object: { key } } });
const completion = () => busEvent({ source: 'video-pipeline', detailType: 'Job Succeeded', detail: { jobId: 'j1' } });

function recordingRouter(template = eventsTemplate(), fail: (handlerFile: string, attempt: number) => boolean = () => false) {
  const calls: { handlerFile: string; event: unknown }[] = [];
  const logs: string[] = [];
  const router = createEventRouter({
    template,
    retryBaseDelayMs: 1,
    log: (line) => logs.push(line),
    invoke: async (handlerFile, event) => {
      calls.push({ handlerFile, event });
      if (fail(handlerFile, calls.filter((call) => call.handlerFile === handlerFile).length)) throw new TypeError(`${handlerFile} broke`);
      return 'ignored';
    },
  });
  return { router, calls, logs };
}

describe('createEventRouter', () => {
  it('delivers a matching event to the rule target, after putEvent returned', async () => {
    const { router, calls } = recordingRouter();
    const event = upload('incoming/spec.json');
    expect(router.putEvent(event)).toBe(1);
    expect(calls).toEqual([]);
    await router.idle();
    expect(calls).toEqual([{ handlerFile: 'upload', event }]);
    expect(router.deliveriesStarted()).toBe(1);
  });

  it('delivers nothing for an event the pattern does not match', async () => {
    const { router, calls } = recordingRouter();
    expect(router.putEvent(upload('accepted/spec.json'))).toBe(0);
    expect(router.putEvent(upload('incoming/spec.json', 'other-bucket'))).toBe(0);
    await router.idle();
    expect(calls).toEqual([]);
  });

  it('keeps buses apart: a rule only sees the events of its own bus', async () => {
    const { router, calls } = recordingRouter();
    expect(router.putEvent(completion())).toBe(0);
    expect(router.putEvent(completion(), 'CompletionBus')).toBe(1);
    expect(router.putEvent(upload('incoming/x.json'), 'CompletionBus')).toBe(0);
    await router.idle();
    expect(calls.map((call) => call.handlerFile)).toEqual(['audit']);
  });

  it('retries a failing handler twice, as Lambda does for an asynchronous invocation', async () => {
    const { router, calls, logs } = recordingRouter(undefined, (_file, attempt) => attempt < 3);
    router.putEvent(upload('incoming/flaky.json'));
    await router.idle();
    expect(calls).toHaveLength(3);
    expect(router.failures()).toEqual([]);
    expect(logs).toEqual([]);
  });

  it('records and logs the failure once the retries are spent', async () => {
    const { router, calls, logs } = recordingRouter(undefined, () => true);
    const event = upload('incoming/broken.json');
    router.putEvent(event);
    await router.idle();
    expect(calls).toHaveLength(3);
    expect(router.failures()).toEqual([
      { ruleId: 'UploadRule', targetId: 'Target-UploadFunction', handlerFile: 'upload', eventId: event.id, attempts: 3, error: 'TypeError: upload broke' },
    ]);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toContain('UploadRule');
    expect(logs[0]).toContain('upload broke');
  });

  it('idle() also waits for deliveries that deliveries started', async () => {
    const calls: string[] = [];
    const router = createEventRouter({
      template: eventsTemplate(),
      invoke: async (handlerFile) => {
        calls.push(handlerFile);
        // The upload handler publishes a completion event, as a job started from an upload eventually does.
        if (handlerFile === 'upload') router.putEvent(completion(), 'CompletionBus');
      },
    });
    router.putEvent(upload('incoming/a.json'));
    await router.idle();
    expect(calls).toEqual(['upload', 'audit']);
  });

  it('honours an EventInvokeConfig retry count, hands a target its Input, and skips disabled rules', async () => {
    const template = eventsTemplate({
      UploadRetries: {
        Type: 'AWS::Lambda::EventInvokeConfig',
        Properties: { FunctionName: { Ref: 'UploadFunction' }, MaximumRetryAttempts: 0, Qualifier: '$LATEST' },
      },
      ConstantRule: {
        Type: 'AWS::Events::Rule',
        Properties: { EventPattern: { source: ['aws.s3'] }, Targets: [lambdaTarget('AuditFunction', { Input: '{"fixed":true}' })] },
      },
      DisabledRule: {
        Type: 'AWS::Events::Rule',
        Properties: { State: 'DISABLED', EventPattern: { source: ['aws.s3'] }, Targets: [lambdaTarget('AuditFunction')] },
      },
    });
    const { router, calls } = recordingRouter(template, (file) => file === 'upload');
    router.putEvent(upload('incoming/a.json'));
    await router.idle();
    expect(calls.filter((call) => call.handlerFile === 'upload')).toHaveLength(1);
    expect(calls.filter((call) => call.handlerFile === 'audit').map((call) => call.event)).toEqual([{ fixed: true }]);
  });

  it('fails at creation for what it cannot run', () => {
    const invoke = async () => undefined;
    const withRule = (properties: Record<string, unknown>) =>
      eventsTemplate({ Extra: { Type: 'AWS::Events::Rule', Properties: { EventPattern: { source: ['x'] }, ...properties } } });
    expect(() => createEventRouter({ template: withRule({ EventPattern: { detail: { size: [{ numeric: ['>', 1] }] } }, Targets: [] }), invoke })).toThrow(
      /numeric/,
    );
    expect(() => createEventRouter({ template: withRule({ Targets: [{ Id: 'Q', Arn: { 'Fn::GetAtt': ['DeadLetters', 'Arn'] } }] }), invoke })).toThrow(
      /only delivers to Lambda functions/,
    );
    const unbound = eventsTemplate({ Bare: { Type: 'AWS::Lambda::Function', Properties: {} } });
    unbound.Resources.AuditRule!.Properties!.Targets = [lambdaTarget('Bare')];
    expect(() => createEventRouter({ template: unbound, invoke })).toThrow(/video-pipeline:handler/);
    expect(() => createEventRouter({ template: withRule({ Targets: [lambdaTarget('AuditFunction', { InputTransformer: {} })] }), invoke })).toThrow(
      /InputTransformer/,
    );
  });
});
