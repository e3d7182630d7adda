import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteItemCommand, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import type { CfnTemplate } from './cloud-assembly.js';
import { handlerFileOfArn, type HandlerLoader } from './handler-modules.js';
import type { Operation } from '../emulators/stepfunctions/aws-json-endpoint.js';
import type { TaskHandler } from '../emulators/stepfunctions/step-functions-engine.js';
import type { AwsCall } from './access/aws-call.js';
import { jsonServiceCalls } from './access/json-service-calls.js';

const DYNAMODB_ACTIONS = {
  updateItem: UpdateItemCommand,
  putItem: PutItemCommand,
  getItem: GetItemCommand,
  deleteItem: DeleteItemCommand,
} as const;

const DYNAMODB_RESOURCE = /^arn:aws:states:::dynamodb:(\w+)$/;
const LAMBDA_FUNCTION_RESOURCE = /^arn:aws:lambda:[^:]+:\d+:function:/;
// The optimised integration: the function ARN sits in Parameters and the answer is wrapped.
const LAMBDA_INVOKE_RESOURCE = /^arn:aws:states:::lambda:invoke$/;
const PUT_EVENTS_RESOURCE = /^arn:aws:states:::events:putEvents$/;
const SEND_MESSAGE_RESOURCE = /^arn:aws:states:::sqs:sendMessage$/;

/** Where an SQS SendMessage state puts its message locally (the webhook dead letters: LocalStack.webhookDeadLetters). */
export type SendMessage = (queueUrl: string, body: unknown) => void;

/** Step Functions names a service error `DynamoDB.<ExceptionName>`; Retry and Catch match on that. */
function asStepFunctionsError(error: unknown): Error {
  const original = error instanceof Error ? error : new Error(String(error));
  const named = new Error(original.message, { cause: original });
  named.name = `DynamoDB.${original.name}`;
  return named;
}

function dynamoDbTask(client: DynamoDBClient, action: string, stateName: string): TaskHandler {
  const Command = DYNAMODB_ACTIONS[action as keyof typeof DYNAMODB_ACTIONS];
  if (!Command) throw new Error(`state ${stateName}: dynamodb:${action} has no local binding`);
  return async (input) => {
    try {
      const command = new (Command as typeof UpdateItemCommand)(input as never);
      const { $metadata: _metadata, ...output } = await client.send(command);
      return output;
    } catch (error) {
      throw asStepFunctionsError(error);
    }
  };
}

/**
 * The optimised PutEvents integration: entries carry Detail as JSON (the API takes it as text), and
 * an entry EventBridge refused fails the task as `EventBridge.FailedEntriesException`.
 */
function putEventsTask(putEvents: Operation, onCall: (calls: AwsCall[]) => void): TaskHandler {
  return async (input) => {
    const { Entries: entries } = input as { Entries: Record<string, unknown>[] };
    onCall(jsonServiceCalls('AWSEvents.PutEvents', { Entries: entries }));
    const answer = putEvents({ Entries: entries.map((entry) => ({ ...entry, Detail: JSON.stringify(entry.Detail) })) }) as { FailedEntryCount: number };
    if (answer.FailedEntryCount > 0) {
      const failed = new Error(`${answer.FailedEntryCount} of ${entries.length} events were refused: ${JSON.stringify(answer)}`);
      failed.name = 'EventBridge.FailedEntriesException';
      throw failed;
    }
    return answer;
  };
}

/**
 * Binds every Task state of the synthesized definition to what runs it locally: native DynamoDB
 * tasks to the real SDK client (against dynalite), PutEvents to the local buses, Lambda tasks to the handler module the function's
 * template metadata names, found from the ARN the state invokes (as Step Functions resolves it).
 * A Task with no binding is an error at start-up, not a surprise mid-execution. What the state machine's
 * role must allow for its tasks goes to `onCall`: invoking a function, putting events (the DynamoDB
 * tasks' requests are seen at the local DynamoDB endpoint, signed as the state machine).
 */
export async function bindTaskStates(
  definition: StateMachineDefinition,
  template: CfnTemplate,
  dynamodb: DynamoDBClient,
  loadHandler: HandlerLoader,
  putEvents: Operation,
  onCall: (calls: AwsCall[]) => void = () => {},
  sendMessage?: SendMessage,
): Promise<Record<string, TaskHandler>> {
  const invoking = (functionArn: string): AwsCall[] => [{ action: 'lambda:InvokeFunction', resource: functionArn, context: {} }];
  const bindings: Record<string, TaskHandler> = {};
  for (const [stateName, state] of Object.entries(definition.States)) {
    if (state.Type !== 'Task') continue;
    const { Resource: resource, Parameters: parameters } = state as { Resource: string; Parameters?: Record<string, unknown> };
    const dynamoAction = DYNAMODB_RESOURCE.exec(resource)?.[1];
    if (dynamoAction) {
      bindings[stateName] = dynamoDbTask(dynamodb, dynamoAction, stateName);
    } else if (LAMBDA_FUNCTION_RESOURCE.test(resource)) {
      const handler = await loadHandler(handlerFileOfArn(template, resource));
      bindings[stateName] = (input) => {
        onCall(invoking(resource));
        return handler(input);
      };
    } else if (LAMBDA_INVOKE_RESOURCE.test(resource) && typeof parameters?.FunctionName === 'string') {
      const functionArn = parameters.FunctionName;
      const handler = await loadHandler(handlerFileOfArn(template, functionArn));
      bindings[stateName] = async (input) => {
        onCall(invoking(functionArn));
        return {
          ExecutedVersion: '$LATEST',
          Payload: await handler((input as { Payload?: unknown }).Payload),
          StatusCode: 200,
        };
      };
    } else if (PUT_EVENTS_RESOURCE.test(resource)) {
      bindings[stateName] = putEventsTask(putEvents, onCall);
    } else if (SEND_MESSAGE_RESOURCE.test(resource) && sendMessage) {
      bindings[stateName] = async (input) => {
        const { QueueUrl: queueUrl, MessageBody: body } = input as { QueueUrl: string; MessageBody: unknown };
        sendMessage(queueUrl, body);
        return { MessageId: randomUUID() };
      };
    } else {
      throw new Error(`state ${stateName} (${resource}) has no local binding`);
    }
  }
  return bindings;
}
