import {
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { WORKFLOW_TASK_HANDLERS } from '../lib/generation-workflow.js';
import type { TaskHandler } from './step-functions-engine.js';

const DYNAMODB_ACTIONS = {
  updateItem: UpdateItemCommand,
  putItem: PutItemCommand,
  getItem: GetItemCommand,
  deleteItem: DeleteItemCommand,
} as const;

const DYNAMODB_RESOURCE = /^arn:aws:states:::dynamodb:(\w+)$/;

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
 * Binds every Task state of the synthesized definition to what runs it locally: native DynamoDB
 * tasks to the real SDK client (against dynalite), Lambda tasks to their handler module in-process.
 * A Task with no binding is an error at start-up, not a surprise mid-execution.
 */
export async function bindTaskStates(definition: StateMachineDefinition, dynamodb: DynamoDBClient): Promise<Record<string, TaskHandler>> {
  const bindings: Record<string, TaskHandler> = {};
  for (const [stateName, state] of Object.entries(definition.States)) {
    if (state.Type !== 'Task') continue;
    const resource = (state as { Resource: string }).Resource;
    const dynamoAction = DYNAMODB_RESOURCE.exec(resource)?.[1];
    if (dynamoAction) {
      bindings[stateName] = dynamoDbTask(dynamodb, dynamoAction, stateName);
      continue;
    }
    const handlerFile = WORKFLOW_TASK_HANDLERS[stateName as keyof typeof WORKFLOW_TASK_HANDLERS];
    if (!handlerFile) throw new Error(`state ${stateName} (${resource}) has no local binding`);
    const modulePath = new URL(`../lambdas/${handlerFile}.ts`, import.meta.url).href;
    const module = (await import(/* @vite-ignore */ modulePath)) as { handler: TaskHandler };
    bindings[stateName] = (input) => module.handler(input);
  }
  return bindings;
}
