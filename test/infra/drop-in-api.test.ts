import { beforeAll, describe, expect, it } from 'vitest';
import { BEARER_VALIDATION_REGEX, DROP_IN_STAGE, UNAUTHORIZED_BODY } from '../../contracts/drop-in.js';
import { HANDLER } from '../../contracts/handlers.js';
import { TOKENS_TABLE } from '../../contracts/tables.js';
import { synthesizePipelineTemplate } from '../../local/stack/cloud-assembly.js';
import {
  allowedActions,
  allows,
  apiPathOf,
  functionOfHandler,
  keyedBy,
  logicalIdOf,
  onlyResourceOfType,
  render,
  resourcesOfType,
  roleIdOf,
  statementsOfRole,
  type CfnJson,
  type CfnResource,
} from '../../testkit/cfn-template.js';

/**
 * The drop-in provider API (infra/constructs/drop-in-api.ts): a second REST API serving the
 * provider's routes with the operator's Bearer tokens, the token authorizer and its Tokens table.
 */

let json: CfnJson;
let apiId: string;
let tokensTableId: string;
let authorizerFunctionId: string;
let intakeFunctionId: string;

const ofApi = (resource: CfnResource) => logicalIdOf(resource.Properties!.RestApiId) === apiId;

beforeAll(() => {
  json = synthesizePipelineTemplate() as unknown as CfnJson;
  apiId = onlyResourceOfType(json, 'AWS::ApiGateway::RestApi', {
    description: 'with Bearer tokens',
    test: (api) => String(api.Properties!.Description).includes('Bearer'),
  })[0];
  tokensTableId = onlyResourceOfType(json, 'AWS::DynamoDB::Table', keyedBy(TOKENS_TABLE.partitionKey))[0];
  authorizerFunctionId = functionOfHandler(json, HANDLER.tokenAuthorizer);
  intakeFunctionId = functionOfHandler(json, HANDLER.intake);
});

describe('Tokens table', () => {
  it('is keyed by tokenId, on demand, with point-in-time recovery, retained and deletion-protected by default', () => {
    const table = json.Resources[tokensTableId]!;
    expect(table.Properties).toMatchObject({
      KeySchema: [{ AttributeName: 'tokenId', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
    });
    expect((table as { DeletionPolicy?: string }).DeletionPolicy).toBe('Retain');
    // No index: the authorizer reads one token by its id, the operator lists a handful.
    expect(table.Properties!.GlobalSecondaryIndexes).toBeUndefined();
  });

  it('is a trial stack’s to delete with retainData=false', () => {
    const trial = synthesizePipelineTemplate({ retainData: 'false' }) as unknown as CfnJson;
    const [, table] = onlyResourceOfType(trial, 'AWS::DynamoDB::Table', keyedBy(TOKENS_TABLE.partitionKey));
    expect(table.Properties!.DeletionProtectionEnabled).toBe(false);
    expect((table as { DeletionPolicy?: string }).DeletionPolicy).toBe('Delete');
  });
});

describe('token authorizer', () => {
  it('is a TOKEN authorizer on the Authorization header, uncached, that refuses malformed tokens before any invocation', () => {
    const [, authorizer] = onlyResourceOfType(json, 'AWS::ApiGateway::Authorizer');
    expect(ofApi(authorizer)).toBe(true);
    expect(authorizer.Properties).toMatchObject({
      Type: 'TOKEN',
      IdentitySource: 'method.request.header.Authorization',
      IdentityValidationExpression: BEARER_VALIDATION_REGEX,
      AuthorizerResultTtlInSeconds: 0,
    });
    expect(render(authorizer.Properties!.AuthorizerUri)).toMatch(
      new RegExp(`:apigateway:.*:lambda:path/2015-03-31/functions/\\$\\{${authorizerFunctionId}\\.Arn\\}/invocations$`),
    );
    const regex = new RegExp(BEARER_VALIDATION_REGEX);
    expect(regex.test(`Bearer vpt_0123456789abcdef_${'A'.repeat(43)}`)).toBe(true);
    for (const refused of ['', 'Bearer', 'Basic abc', `Bearer vpt_0123456789abcdef_${'A'.repeat(42)}`, `bearer vpt_0123456789abcdef_${'A'.repeat(43)}`]) {
      expect(regex.test(refused), refused).toBe(false);
    }
  });

  it('runs the token-authorizer handler, knowing only the Tokens table', () => {
    const variables = (json.Resources[authorizerFunctionId]!.Properties!.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(Object.keys(variables).sort()).toEqual(['NODE_OPTIONS', 'TOKENS_TABLE']);
    expect(variables.TOKENS_TABLE).toEqual({ Ref: tokensTableId });
  });

  it('may be invoked by this API’s authorizers only', () => {
    const [authorizerId] = onlyResourceOfType(json, 'AWS::ApiGateway::Authorizer');
    const permissions = resourcesOfType(json, 'AWS::Lambda::Permission').filter(
      ([, permission]) => render(permission.Properties!.FunctionName) === `\${${authorizerFunctionId}.Arn}`,
    );
    expect(permissions).toHaveLength(1);
    expect(permissions[0]![1].Properties).toMatchObject({ Action: 'lambda:InvokeFunction', Principal: 'apigateway.amazonaws.com' });
    expect(render(permissions[0]![1].Properties!.SourceArn)).toBe(
      `arn:\${AWS::Partition}:execute-api:\${AWS::Region}:\${AWS::AccountId}:\${${apiId}}/authorizers/\${${authorizerId}}`,
    );
  });
});

describe('routes', () => {
  const methods = () => resourcesOfType(json, 'AWS::ApiGateway::Method').filter(([, method]) => ofApi(method));

  it('serves exactly the provider’s two routes, each with the token authorizer, proxied to the intake function', () => {
    const [authorizerId] = onlyResourceOfType(json, 'AWS::ApiGateway::Authorizer');
    const routes = methods().map(([, method]) => `${String(method.Properties!.HttpMethod)} ${apiPathOf(json, method.Properties!.ResourceId)}`);
    expect(routes.sort()).toEqual(['GET /v1/video/generations/{task_id}', 'POST /v1/video/generations']);
    for (const [id, method] of methods()) {
      expect(method.Properties, id).toMatchObject({
        AuthorizationType: 'CUSTOM',
        AuthorizerId: { Ref: authorizerId },
        Integration: { Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST' },
      });
      expect(render((method.Properties!.Integration as { Uri: unknown }).Uri)).toContain(`/functions/\${${intakeFunctionId}.Arn}/invocations`);
    }
  });

  it('the stage is named for a provider base URL, traced, throttled and access-logged', () => {
    const [, stage] = onlyResourceOfType(json, 'AWS::ApiGateway::Stage', { description: 'of the drop-in API', test: ofApi });
    expect(stage.Properties).toMatchObject({
      StageName: DROP_IN_STAGE,
      TracingEnabled: true,
      MethodSettings: [expect.objectContaining({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100, LoggingLevel: 'ERROR' })],
    });
    const destination = render((stage.Properties!.AccessLogSetting as { DestinationArn: unknown }).DestinationArn);
    const logGroup = /log-group:\$\{(\w+)\}$/.exec(destination);
    expect(json.Resources[logGroup![1]!]?.Type).toBe('AWS::Logs::LogGroup');
    // API Gateway's logging role is account-wide and made once, by the IAM API: this stage logs through it, so it waits for it.
    const [accountId] = onlyResourceOfType(json, 'AWS::ApiGateway::Account');
    expect((stage as { DependsOn?: string[] }).DependsOn).toContain(accountId);
  });

  it('answers a missing, malformed, unknown or revoked token with the gateway’s 401 shape, and its other errors in the gateway’s shape', () => {
    const responses = resourcesOfType(json, 'AWS::ApiGateway::GatewayResponse').filter(([, response]) => ofApi(response));
    const byType = Object.fromEntries(responses.map(([, response]) => [response.Properties!.ResponseType, response.Properties]));
    expect(byType.UNAUTHORIZED).toMatchObject({ StatusCode: '401' });
    const templates = (type: string) => (byType[type]!.ResponseTemplates as Record<string, string>)['application/json']!;
    expect(JSON.parse(templates('UNAUTHORIZED'))).toEqual(UNAUTHORIZED_BODY);
    expect(byType.THROTTLED).toMatchObject({ StatusCode: '429' });
    for (const type of ['THROTTLED', 'DEFAULT_4XX', 'DEFAULT_5XX'])
      expect(templates(type)).toMatch(/^\{"error":\{"message":\$context\.error\.messageString,"type":"\w+","code":"/);
  });

  it('publishes its URL and the Tokens table name as stack outputs', () => {
    const outputs = (json as unknown as { Outputs: Record<string, { Value: unknown }> }).Outputs;
    const [stageId] = onlyResourceOfType(json, 'AWS::ApiGateway::Stage', { description: 'of the drop-in API', test: ofApi });
    expect(render(outputs.DropInApiUrl!.Value)).toBe(`https://\${${apiId}}.execute-api.\${AWS::Region}.\${AWS::URLSuffix}/\${${stageId}}/`);
    expect(outputs.TokensTableName!.Value).toEqual({ Ref: tokensTableId });
  });
});

describe('least privilege', () => {
  it('the authorizer may read one token (GetItem on the Tokens table) and nothing else of the pipeline', () => {
    const statements = statementsOfRole(json, roleIdOf(json, authorizerFunctionId));
    const data = allowedActions(statements).filter((action) => !action.startsWith('logs:') && !action.startsWith('xray:'));
    expect(data).toEqual(['dynamodb:GetItem']);
    expect(allows(statements, 'dynamodb:GetItem', (rendered) => rendered === `\${${tokensTableId}.Arn}`)).toBe(true);
  });

  it('no other function may touch the Tokens table (the CLI issues and revokes tokens with the operator’s own credentials)', () => {
    for (const [functionId] of resourcesOfType(json, 'AWS::Lambda::Function')) {
      if (functionId === authorizerFunctionId) continue;
      const statements = statementsOfRole(json, roleIdOf(json, functionId));
      const touches = statements.some((statement) => JSON.stringify(statement.Resource ?? '').includes(tokensTableId));
      expect(touches, functionId).toBe(false);
    }
  });
});
