export type CfnResource = { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> };
export type CfnTemplate = { Resources: Record<string, CfnResource> };

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';

const PSEUDO_PARAMETERS: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': LOCAL_REGION,
  'AWS::AccountId': LOCAL_ACCOUNT,
  'AWS::URLSuffix': 'amazonaws.com',
};

/**
 * The local name of each resource: its logical id, lower-cased for S3 (bucket names must be). An event
 * bus keeps the Name CDK gives it, because that is what PutEvents callers and rules name it by on AWS.
 */
export function localPhysicalName(template: CfnTemplate, logicalId: string): string {
  const resource = template.Resources[logicalId];
  if (resource?.Type === 'AWS::S3::Bucket') return logicalId.toLowerCase();
  if (resource?.Type === 'AWS::Events::EventBus' && typeof resource.Properties?.Name === 'string') return resource.Properties.Name;
  return logicalId;
}

/** The bus a rule or PutEvents entry names, by name or ARN; none means the account's default bus. */
export function eventBusNameOf(nameOrArn: unknown): string {
  if (nameOrArn === undefined || nameOrArn === null || nameOrArn === '') return 'default';
  const value = String(nameOrArn);
  return value.startsWith('arn:') ? value.slice(value.indexOf(':event-bus/') + ':event-bus/'.length) : value;
}

export function localArn(template: CfnTemplate, logicalId: string): string {
  const type = template.Resources[logicalId]?.Type;
  const name = localPhysicalName(template, logicalId);
  switch (type) {
    case 'AWS::Lambda::Function':
      return `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${name}`;
    case 'AWS::StepFunctions::StateMachine':
      return `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${name}`;
    case 'AWS::DynamoDB::Table':
      return `arn:aws:dynamodb:${LOCAL_REGION}:${LOCAL_ACCOUNT}:table/${name}`;
    case 'AWS::S3::Bucket':
      return `arn:aws:s3:::${name}`;
    case 'AWS::SQS::Queue':
      return `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${name}`;
    case 'AWS::Logs::LogGroup':
      return `arn:aws:logs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:log-group:${name}:*`;
    case 'AWS::IAM::Role':
      return `arn:aws:iam::${LOCAL_ACCOUNT}:role/${name}`;
    case 'AWS::Events::EventBus':
      return `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:event-bus/${name}`;
    case 'AWS::Events::Rule': {
      // A rule on a custom bus has the bus in its ARN; on the default bus it does not.
      const bus = eventBusNameOf(resolveIntrinsics(template, template.Resources[logicalId]!.Properties?.EventBusName));
      return `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:rule/${bus === 'default' ? '' : `${bus}/`}${name}`;
    }
    default:
      throw new Error(`no local ARN for ${logicalId} (${type ?? 'not in the template'})`);
  }
}

/**
 * Turns CloudFormation intrinsics (Ref, Fn::GetAtt, Fn::Join) into the plain values they take in the
 * local stack. Only what the template actually uses is supported; anything else fails loudly.
 */
export function resolveIntrinsics(template: CfnTemplate, value: unknown): unknown {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return value;
  if (Array.isArray(value)) return value.map((item) => resolveIntrinsics(template, item));
  const object = value as Record<string, unknown>;
  if ('Ref' in object) {
    const ref = object.Ref as string;
    if (ref in PSEUDO_PARAMETERS) return PSEUDO_PARAMETERS[ref];
    const type = template.Resources[ref]?.Type;
    return type === 'AWS::StepFunctions::StateMachine' ? localArn(template, ref) : localPhysicalName(template, ref);
  }
  if ('Fn::GetAtt' in object) {
    const [logicalId, attribute] = object['Fn::GetAtt'] as [string, string];
    if (attribute === 'Arn') return localArn(template, logicalId);
    if (attribute === 'Name' && template.Resources[logicalId]?.Type === 'AWS::Events::EventBus') return localPhysicalName(template, logicalId);
    throw new Error(`unsupported Fn::GetAtt ${logicalId}.${attribute}`);
  }
  if ('Fn::Join' in object) {
    const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
    return parts.map((part) => String(resolveIntrinsics(template, part))).join(separator);
  }
  // IAM grants on executions name the state machine by splitting its ARN (infra's grants on StopExecution).
  if ('Fn::Select' in object) {
    const [index, list] = object['Fn::Select'] as [number | string, unknown];
    const items = resolveIntrinsics(template, list);
    if (!Array.isArray(items) || items[Number(index)] === undefined) throw new Error(`Fn::Select ${index} out of ${JSON.stringify(items)}`);
    return items[Number(index)];
  }
  if ('Fn::Split' in object) {
    const [separator, text] = object['Fn::Split'] as [string, unknown];
    return String(resolveIntrinsics(template, text)).split(separator);
  }
  return Object.fromEntries(Object.entries(object).map(([key, item]) => [key, resolveIntrinsics(template, item)]));
}

export function logicalIdsOfType(template: CfnTemplate, type: string): string[] {
  return Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === type)
    .map(([logicalId]) => logicalId);
}

export function onlyLogicalIdOfType(template: CfnTemplate, type: string): string {
  const ids = logicalIdsOfType(template, type);
  if (ids.length !== 1) throw new Error(`expected one ${type} in the template, found ${ids.length}`);
  return ids[0]!;
}
