import type { AwsCall } from './aws-call.js';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../template-resolver.js';

type AttributeValue = { S?: string; N?: string; B?: string };
type Item = Record<string, AttributeValue>;

const tableArn = (table: string) => `arn:aws:dynamodb:${LOCAL_REGION}:${LOCAL_ACCOUNT}:table/${table}`;

function leadingKey(item: Item | undefined, partitionKey: string | undefined): string[] {
  const value = partitionKey ? item?.[partitionKey] : undefined;
  const text = value?.S ?? value?.N ?? value?.B;
  return text === undefined ? [] : [text];
}

/**
 * The IAM calls of one DynamoDB request (X-Amz-Target `DynamoDB_20120810.<Operation>`). Item
 * operations carry `dynamodb:LeadingKeys` (the item's partition key), which the grants on the
 * generation-history items are conditioned on (infra/constructs/generation-workflow.ts). A Query
 * carries none here: no grant of the stack conditions a Query on it.
 */
export function dynamoDbCalls(target: string, body: Record<string, unknown>, partitionKeys: ReadonlyMap<string, string>): AwsCall[] {
  const operation = target.split('.')[1] ?? target;
  const action = `dynamodb:${operation}`;
  if (operation === 'BatchWriteItem' || operation === 'BatchGetItem') {
    const requests = (body.RequestItems ?? {}) as Record<string, unknown>;
    return Object.entries(requests).map(([table, entries]) => {
      const items =
        operation === 'BatchGetItem'
          ? ((entries as { Keys?: Item[] }).Keys ?? [])
          : (entries as { PutRequest?: { Item: Item }; DeleteRequest?: { Key: Item } }[]).map((entry) => entry.PutRequest?.Item ?? entry.DeleteRequest?.Key);
      const keys = [...new Set(items.flatMap((item) => leadingKey(item, partitionKeys.get(table))))];
      return { action, resource: tableArn(table), context: { 'dynamodb:LeadingKeys': keys } };
    });
  }
  const table = typeof body.TableName === 'string' ? body.TableName : undefined;
  if (!table) return [{ action, resource: '*', context: {} }];
  const index = typeof body.IndexName === 'string' ? `/index/${body.IndexName}` : '';
  const item = (body.Key ?? body.Item) as Item | undefined;
  const context: AwsCall['context'] = item ? { 'dynamodb:LeadingKeys': leadingKey(item, partitionKeys.get(table)) } : {};
  return [{ action, resource: `${tableArn(table)}${index}`, context }];
}
