import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import { apiHandlerFile, createHandlerLoader, handlerFileOfArn } from '../../local/stack/handler-modules.js';
import { bindTaskStates } from '../../local/stack/task-bindings.js';
import { putEvents } from '../../local/emulators/stepfunctions/aws-json-endpoint.js';
import type { BusEvent } from '../../local/emulators/eventbridge/eventbridge-events.js';
import { fn } from '../../testkit/events-template.js';

const template = {
  Resources: {
    DescribeFunction: fn('describe-failure'),
    Bare: { Type: 'AWS::Lambda::Function', Properties: {} },
    Table: { Type: 'AWS::DynamoDB::Table' },
  },
};
const ARN = 'arn:aws:lambda:us-east-1:000000000000:function:DescribeFunction';
const caught = { error: { Error: 'PROVIDER_TASK_FAILED', Cause: JSON.stringify({ errorType: 'PROVIDER_TASK_FAILED', errorMessage: 'boom' }) } };

describe('handler modules', () => {
  it('finds the handler file of a function from its (qualified) ARN through the template metadata', () => {
    expect(handlerFileOfArn(template, ARN)).toBe('describe-failure');
    expect(handlerFileOfArn(template, `${ARN}:$LATEST`)).toBe('describe-failure');
    expect(() => handlerFileOfArn(template, 'arn:aws:lambda:us-east-1:000000000000:function:Bare')).toThrow(/video-pipeline:handler/);
    expect(() => handlerFileOfArn(template, 'arn:aws:lambda:us-east-1:000000000000:function:Nope')).toThrow(/not the ARN of a Lambda function/);
  });

  it('finds the function behind the REST API from its proxy integrations', () => {
    const proxyTo = (functionId: string) => ({
      Type: 'AWS::ApiGateway::Method',
      Properties: {
        Integration: {
          Type: 'AWS_PROXY',
          Uri: {
            'Fn::Join': [
              '',
              [
                'arn:',
                { Ref: 'AWS::Partition' },
                ':apigateway:',
                { Ref: 'AWS::Region' },
                ':lambda:path/2015-03-31/functions/',
                { 'Fn::GetAtt': [functionId, 'Arn'] },
                '/invocations',
              ],
            ],
          },
        },
      },
    });
    const api = { Resources: { ...template.Resources, Other: fn('intake'), Post: proxyTo('Other'), Get: proxyTo('Other') } };
    expect(apiHandlerFile(api)).toBe('intake');
    expect(() => apiHandlerFile({ Resources: { ...api.Resources, Odd: proxyTo('DescribeFunction') } })).toThrow(/serves one function/);
  });

  it('imports each handler module once', async () => {
    const load = createHandlerLoader();
    expect(await load('describe-failure')).toBe(await load('describe-failure'));
    await expect(load('../lib/house-function')).rejects.toThrow(/not a handler file name/);
  });

  it('binds Lambda task states, direct ARN or lambda:invoke, to the handler the template names', async () => {
    const definition = {
      StartAt: 'Direct',
      States: {
        Direct: { Type: 'Task', Resource: ARN, Next: 'Wrapped' },
        Wrapped: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Parameters: { FunctionName: ARN, 'Payload.$': '$' }, End: true },
      },
    } as unknown as StateMachineDefinition;
    const dynamodb = new DynamoDBClient({ region: 'us-east-1' });
    const bindings = await bindTaskStates(definition, template, dynamodb, createHandlerLoader(), putEvents({ busNames: ['default'], publish: () => {} }));
    const direct = (await bindings.Direct!(caught)) as Record<string, unknown>;
    expect(direct).toMatchObject({ code: 'PROVIDER_TASK_FAILED' });
    expect(await bindings.Wrapped!({ FunctionName: ARN, Payload: caught })).toEqual({
      ExecutedVersion: '$LATEST',
      Payload: { ...direct, failedAt: expect.any(String) },
      StatusCode: 200,
    });
    dynamodb.destroy();
  });

  it('binds events:putEvents to the local buses: the detail arrives as sent; an entry EventBridge refuses fails the state as Step Functions names it', async () => {
    const definition = {
      StartAt: 'Tell',
      States: { Tell: { Type: 'Task', Resource: 'arn:aws:states:::events:putEvents', Parameters: { Entries: [] }, End: true } },
    } as unknown as StateMachineDefinition;
    const published: { event: BusEvent; busName: string }[] = [];
    const dynamodb = new DynamoDBClient({ region: 'us-east-1' });
    const bindings = await bindTaskStates(
      definition,
      template,
      dynamodb,
      createHandlerLoader(),
      putEvents({ busNames: ['default'], publish: (event, busName) => void published.push({ event, busName }) }),
    );
    const entry = { Source: 'video-pipeline.workflow', DetailType: 'Provider Task Ended', Detail: { jobId: 'job-1', execution: 'job-1' } };
    expect(await bindings.Tell!({ Entries: [entry] })).toMatchObject({ FailedEntryCount: 0, Entries: [{ EventId: expect.any(String) }] });
    expect(published).toEqual([
      { busName: 'default', event: expect.objectContaining({ source: entry.Source, 'detail-type': entry.DetailType, detail: entry.Detail }) },
    ]);
    await expect(bindings.Tell!({ Entries: [{ ...entry, EventBusName: 'no-such-bus' }] })).rejects.toMatchObject({
      name: 'EventBridge.FailedEntriesException',
    });
    expect(published).toHaveLength(1);
    dynamodb.destroy();
  });
});
