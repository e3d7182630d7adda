import { STATE_MACHINE_METADATA_KEY, WEBHOOK_DELIVERY_MACHINE } from '../contracts/webhooks.js';

/**
 * Small, read-only helpers over a synthesized CloudFormation template, for the infra tests: find
 * resources by type and by what they reference (never by a hard-coded logical id), render intrinsics
 * to comparable strings, and answer "may this role do X on Y" the way IAM would (action wildcards).
 */

export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  DependsOn?: string | string[];
  Metadata?: Record<string, unknown>;
}

export interface CfnJson {
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, unknown>;
}

export interface PolicyStatement {
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: unknown;
  Principal?: unknown;
  Condition?: unknown;
}

export function resourcesOfType(template: CfnJson, type: string): Array<[string, CfnResource]> {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}

/**
 * The one resource of a type, or, with `where`, the one resource of that type the predicate picks
 * (say, a table by its key schema): zero or several matches throw, so a test never checks the wrong one.
 */
export function onlyResourceOfType(
  template: CfnJson,
  type: string,
  where?: { description: string; test: (resource: CfnResource, logicalId: string) => boolean },
): [string, CfnResource] {
  const found = resourcesOfType(template, type).filter(([logicalId, resource]) => !where || where.test(resource, logicalId));
  const what = where ? `${type} ${where.description}` : type;
  if (found.length !== 1) throw new Error(`expected exactly one ${what}, found ${found.length}`);
  return found[0]!;
}

/** Picks a DynamoDB table by its primary key: `keyedBy('jobId')`, `keyedBy('pk', 'sk')`. */
export function keyedBy(partitionKey: string, sortKey?: string) {
  const expected = [{ AttributeName: partitionKey, KeyType: 'HASH' }, ...(sortKey ? [{ AttributeName: sortKey, KeyType: 'RANGE' }] : [])];
  return {
    description: `keyed by ${[partitionKey, sortKey].filter(Boolean).join(' + ')}`,
    test: (resource: CfnResource) => JSON.stringify(resource.Properties?.KeySchema) === JSON.stringify(expected),
  };
}

/** The template metadata that names a house function's handler file under runtime/handlers/ (see infra/constructs/house-function.ts). */
export const HANDLER_METADATA = 'video-pipeline:handler';

/** The handler file a function's metadata names, if it is one of ours. */
export function handlerFileOf(resource: CfnResource): string | undefined {
  const value = resource.Metadata?.[HANDLER_METADATA];
  return typeof value === 'string' ? value : undefined;
}

/** The one function whose metadata names `handlerFile`. */
export function functionOfHandler(template: CfnJson, handlerFile: string): string {
  return onlyResourceOfType(template, 'AWS::Lambda::Function', {
    description: `running runtime/handlers/${handlerFile}.ts`,
    test: (resource) => handlerFileOf(resource) === handlerFile,
  })[0];
}

/** The logical id a `{ Ref }` or `{ Fn::GetAtt }` points at, if the value is one. */
export function logicalIdOf(value: unknown): string | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const object = value as Record<string, unknown>;
  if (typeof object.Ref === 'string') return object.Ref;
  const getAtt = object['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  return undefined;
}

/**
 * Renders intrinsics as text: `{Ref: X}` → `${X}`, `{Fn::GetAtt: [X, A]}` → `${X.A}`, Fn::Join joined,
 * Fn::Sub kept as its template, Fn::Select / Fn::Split as `select(i,split(sep,…))`. Two values that
 * render alike point at the same thing.
 */
export function render(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return `[${value.map(render).join(',')}]`;
  const object = value as Record<string, unknown>;
  if (typeof object.Ref === 'string') return `\${${object.Ref}}`;
  if (Array.isArray(object['Fn::GetAtt'])) return `\${${(object['Fn::GetAtt'] as string[]).join('.')}}`;
  if (Array.isArray(object['Fn::Join'])) {
    const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
    return parts.map(render).join(separator);
  }
  if ('Fn::Sub' in object) return render(Array.isArray(object['Fn::Sub']) ? object['Fn::Sub'][0] : object['Fn::Sub']);
  // Kept symbolic, so an ARN built from a part of another ARN renders the same wherever it is built alike:
  // {Fn::Select: [6, {Fn::Split: [':', {Ref: X}]}]} → `select(6,split(:,${X}))`.
  if (Array.isArray(object['Fn::Split'])) {
    const [separator, source] = object['Fn::Split'] as [string, unknown];
    return `split(${separator},${render(source)})`;
  }
  if (Array.isArray(object['Fn::Select'])) {
    const [index, list] = object['Fn::Select'] as [number | string, unknown];
    return `select(${String(index)},${render(list)})`;
  }
  return JSON.stringify(object);
}

/**
 * The ARN of one execution of a state machine of the template, rendered the way CDK builds the ARNs it
 * grants on (`grantExecution`): the machine's name is the 7th field of its ARN
 * (`arn:aws:states:<region>:<account>:stateMachine:<name>`).
 */
export function executionArnOf(stateMachineId: string, executionName: string): string {
  const machineName = render({ 'Fn::Select': [6, { 'Fn::Split': [':', { Ref: stateMachineId }] }] });
  return `arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:execution:${machineName}:${executionName}`;
}

/** The Resource of a statement as a list of rendered ARNs. */
export function renderedResources(statement: PolicyStatement): string[] {
  const resources = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
  return resources.filter((resource) => resource !== undefined).map(render);
}

/** The logical id of the role a Lambda function (or state machine) runs as. */
export function roleIdOf(template: CfnJson, resourceId: string): string {
  const resource = template.Resources[resourceId];
  const roleArn = resource?.Properties?.Role ?? resource?.Properties?.RoleArn;
  const roleId = logicalIdOf(roleArn);
  if (!roleId || template.Resources[roleId]?.Type !== 'AWS::IAM::Role') {
    throw new Error(`${resourceId} does not run as a role of this template`);
  }
  return roleId;
}

/** Every statement that applies to the role: its inline policies and each AWS::IAM::Policy attached to it. */
export function statementsOfRole(template: CfnJson, roleId: string): PolicyStatement[] {
  const statements: PolicyStatement[] = [];
  const role = template.Resources[roleId]!;
  for (const inline of (role.Properties?.Policies as Array<{ PolicyDocument: { Statement: PolicyStatement[] } }>) ?? []) {
    statements.push(...inline.PolicyDocument.Statement);
  }
  for (const [, policy] of resourcesOfType(template, 'AWS::IAM::Policy')) {
    const roles = (policy.Properties?.Roles as unknown[]) ?? [];
    if (roles.some((role) => logicalIdOf(role) === roleId)) {
      statements.push(...(policy.Properties!.PolicyDocument as { Statement: PolicyStatement[] }).Statement);
    }
  }
  return statements;
}

function asList(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** IAM action matching: case-insensitive, `*` and `?` wildcards in the statement's action. */
export function actionMatches(pattern: string, action: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );
  return regex.test(action);
}

/**
 * IAM resource matching: does the statement's (rendered) resource pattern cover this concrete
 * (rendered) ARN? `*` and `?` are wildcards in the pattern, everything else is literal (case-sensitive).
 */
export function resourceCovers(pattern: string, arn: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  return regex.test(arn);
}

/** True when an Allow statement grants `action` on a resource for which `onResource` holds (and no Deny). */
export function allows(statements: PolicyStatement[], action: string, onResource: (rendered: string) => boolean): boolean {
  const grants = (statement: PolicyStatement) =>
    asList(statement.Action).some((pattern) => actionMatches(pattern, action)) && renderedResources(statement).some(onResource);
  const allowed = statements.some((statement) => statement.Effect === 'Allow' && grants(statement));
  const denied = statements.some((statement) => statement.Effect === 'Deny' && grants(statement));
  return allowed && !denied;
}

/** Every action any Allow statement of the role grants (as written, wildcards kept). */
export function allowedActions(statements: PolicyStatement[]): string[] {
  return statements.filter((statement) => statement.Effect === 'Allow').flatMap((statement) => asList(statement.Action));
}

/** The URL path of an API Gateway resource, from its PathPart up to the API's root. */
export function apiPathOf(template: CfnJson, resourceIdValue: unknown): string {
  const resourceId = logicalIdOf(resourceIdValue);
  const getAtt = (resourceIdValue as Record<string, unknown>)['Fn::GetAtt'];
  if (Array.isArray(getAtt) && getAtt[1] === 'RootResourceId') return '';
  const resource = resourceId ? template.Resources[resourceId] : undefined;
  if (resource?.Type !== 'AWS::ApiGateway::Resource') throw new Error(`not an API resource: ${render(resourceIdValue)}`);
  return `${apiPathOf(template, resource.Properties!.ParentId)}/${String(resource.Properties!.PathPart)}`;
}

/** The generation workflow's state machine, or (delivery: true) the webhook delivery one, told apart by their metadata. */
export function stateMachineRole(delivery: boolean) {
  return {
    description: delivery ? 'that delivers webhooks' : 'that runs jobs',
    test: (resource: CfnResource) => (resource.Metadata?.[STATE_MACHINE_METADATA_KEY] === WEBHOOK_DELIVERY_MACHINE) === delivery,
  };
}
