import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Capture, Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { HANDLER } from '../../contracts/handlers.js';
import { HISTORY_KEY_PREFIX, JOBS_TABLE, SLOTS_ITEM } from '../../contracts/tables.js';
import { METRIC, METRICS_NAMESPACE, SERVICE_NAMES } from '../../contracts/telemetry.js';
import { WAITING } from '../../runtime/admission/admission-line.js';
import { historyKey } from '../../runtime/workflow/polling/generation-history.js';
import { synthesizePipelineTemplate } from '../../local/stack/cloud-assembly.js';
import {
  allowedActions,
  allows,
  apiPathOf,
  executionArnOf,
  functionOfHandler,
  handlerFileOf,
  keyedBy,
  logicalIdOf,
  onlyResourceOfType,
  render,
  renderedResources,
  resourceCovers,
  resourcesOfType,
  roleIdOf,
  statementsOfRole,
  type CfnJson,
  type PolicyStatement,
  stateMachineRole,
} from '../../testkit/cfn-template.js';

const SWEEPER_SERVICE = SERVICE_NAMES[HANDLER.sweeper];

/** The Lambda task states of the workflow; each names the function it runs in the ASL. */
const TASK_STATES = ['SubmitTask', 'PollTask', 'StoreVideo', 'DescribeFailure', 'AnnounceOutcome'] as const;
type TaskState = (typeof TASK_STATES)[number];

let template: Template;
let json: CfnJson;
let tableId: string;
let admissionTableId: string;
let bucketId: string;
let stateMachineId: string;
let taskFunctionIds: Record<TaskState, string>;
let intakeFunctionId: string;
/** The functions of the pipeline (HouseFunction: they carry the handler metadata). */
let houseFunctionIds: string[];

/** `${Table.Arn}` or the ARN CDK builds by hand for the native DynamoDB tasks: both are the table itself. */
const isTableArn = (rendered: string) =>
  rendered === `\${${tableId}.Arn}` || rendered === `arn:\${AWS::Partition}:dynamodb:\${AWS::Region}:\${AWS::AccountId}:table/\${${tableId}}`;
const isFunctionArn = (functionId: string) => (rendered: string) => rendered === `\${${functionId}.Arn}`;
/** A statement resource that covers this object of the bucket (IAM wildcards in the statement). */
const coversObject = (key: string) => (rendered: string) => resourceCovers(rendered, `\${${bucketId}.Arn}/${key}`);
const statementsOfFunction = (functionId: string): PolicyStatement[] => statementsOfRole(json, roleIdOf(json, functionId));
const environmentOf = (functionId: string) =>
  (json.Resources[functionId]!.Properties!.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};

beforeAll(() => {
  // The template the local stack runs: bundling skipped, the slow schema check off (synth.test.ts keeps it on).
  json = synthesizePipelineTemplate() as unknown as CfnJson;
  template = Template.fromJSON(json);

  // Three tables (Jobs, Manifests, Admission): the Jobs table is the one keyed by jobId alone.
  tableId = onlyResourceOfType(json, 'AWS::DynamoDB::Table', keyedBy('jobId'))[0];
  admissionTableId = onlyResourceOfType(json, 'AWS::DynamoDB::Table', keyedBy('name'))[0];
  bucketId = onlyResourceOfType(json, 'AWS::S3::Bucket')[0];
  const [machineId, machine] = onlyResourceOfType(json, 'AWS::StepFunctions::StateMachine', stateMachineRole(false));
  stateMachineId = machineId;

  // Which function each task state runs, read from the definition itself: `"Resource": "${<fn>.Arn}"`.
  const asl = JSON.parse(render(machine.Properties!.DefinitionString)) as { States: Record<string, { Resource?: string }> };
  taskFunctionIds = Object.fromEntries(
    TASK_STATES.map((state) => {
      const match = /^\$\{(.+)\.Arn\}$/.exec(asl.States[state]?.Resource ?? '');
      if (!match || json.Resources[match[1]!]?.Type !== 'AWS::Lambda::Function') {
        throw new Error(`${state} does not invoke a function of this stack: ${asl.States[state]?.Resource}`);
      }
      return [state, match[1]!];
    }),
  ) as Record<TaskState, string>;

  // The intake function is the one behind the API.
  const uri = new Capture();
  template.hasResourceProperties('AWS::ApiGateway::Method', { HttpMethod: 'POST', Integration: { Uri: uri } });
  const integrated = /functions\/\$\{(.+)\.Arn\}\/invocations$/.exec(render(uri.asObject()));
  intakeFunctionId = integrated![1]!;

  houseFunctionIds = resourcesOfType(json, 'AWS::Lambda::Function')
    .filter(([, fn]) => handlerFileOf(fn) !== undefined)
    .map(([id]) => id);
});

describe('Jobs table', () => {
  it('is keyed by jobId, on demand, with point-in-time recovery', () => {
    // The Jobs table, the batch manifests' table, the admission slots and the API tokens, nothing else.
    template.resourceCountIs('AWS::DynamoDB::Table', 4);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'jobId', KeyType: 'HASH' }],
      AttributeDefinitions: Match.arrayWith([{ AttributeName: 'jobId', AttributeType: 'S' }]),
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it('has the byStatus GSI on status + createdAt (newest-first listing)', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'jobId', KeyType: 'HASH' }],
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: 'status', AttributeType: 'S' },
        { AttributeName: 'createdAt', AttributeType: 'S' },
      ]),
      GlobalSecondaryIndexes: Match.arrayWith([
        Match.objectLike({
          IndexName: 'byStatus',
          KeySchema: [
            { AttributeName: 'status', KeyType: 'HASH' },
            { AttributeName: 'createdAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        }),
      ]),
    });
  });

  it('has the byCreatedAt GSI on kind + createdAt (GET /jobs without a status, newest first)', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'jobId', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: Match.arrayWith([
        Match.objectLike({
          IndexName: 'byCreatedAt',
          KeySchema: [
            { AttributeName: 'kind', KeyType: 'HASH' },
            { AttributeName: 'createdAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        }),
      ]),
    });
    // Every key attribute of the index is declared (order-free: CDK appends them as indexes are added).
    expect(json.Resources[tableId]!.Properties!.AttributeDefinitions).toEqual(
      expect.arrayContaining([
        { AttributeName: 'kind', AttributeType: 'S' },
        { AttributeName: 'createdAt', AttributeType: 'S' },
      ]),
    );
    const indexes = (json.Resources[tableId]!.Properties!.GlobalSecondaryIndexes as Array<{ IndexName: string }>).map((index) => index.IndexName);
    expect(indexes.sort()).toEqual(['byCreatedAt', 'byLine', 'byStatus']);
  });

  // The admission line: only a waiting job carries inLine (runtime/aws/job-repository.ts removes it on
  // admission), so the index holds the line alone, head first by lineKey, whatever the table's size.
  it('has the byLine GSI on inLine + lineKey, the sparse index of the waiting jobs that the line is read from', () => {
    expect(JOBS_TABLE.indexes.byLine.name).toBe('byLine');
    const byLine = (json.Resources[tableId]!.Properties!.GlobalSecondaryIndexes as Array<{ IndexName: string }>).find(
      (index) => index.IndexName === JOBS_TABLE.indexes.byLine.name,
    );
    expect(byLine).toEqual({
      IndexName: 'byLine',
      KeySchema: [
        { AttributeName: 'inLine', KeyType: 'HASH' },
        { AttributeName: 'lineKey', KeyType: 'RANGE' },
      ],
      // A dispatcher starts a job from what the line gives it (request, requestKey, admissions): no second read.
      Projection: { ProjectionType: 'ALL' },
    });
    expect(json.Resources[tableId]!.Properties!.AttributeDefinitions).toEqual(
      expect.arrayContaining([
        { AttributeName: 'inLine', AttributeType: 'S' },
        { AttributeName: 'lineKey', AttributeType: 'S' },
      ]),
    );
    // The one value a waiting job's inLine takes (runtime/admission/admission-line.ts), which the line is queried by.
    expect(WAITING).toBe('waiting');
  });
  it('every table is retained and deletion-protected by default (retainData)', () => {
    template.allResources('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({ DeletionProtectionEnabled: true }),
    });
  });
});

describe('Admission table', () => {
  it('is keyed by name alone (its one item, the slots), on demand, with point-in-time recovery, and has no index or stream', () => {
    expect(admissionTableId).not.toBe(tableId);
    const admission = json.Resources[admissionTableId]!;
    expect(admission.Properties).toEqual({
      KeySchema: [{ AttributeName: 'name', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'name', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
    });
    // The learned limit survives a redeploy: retained like the jobs (retainData).
    expect(admission).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    expect(SLOTS_ITEM).toBe('slots');
  });
});

describe('Manifests table', () => {
  it('is keyed by manifestId, on demand, with point-in-time recovery, and has no index', () => {
    const [manifestsId, manifests] = onlyResourceOfType(json, 'AWS::DynamoDB::Table', keyedBy('manifestId'));
    expect(manifestsId).not.toBe(tableId);
    expect(manifests.Properties).toMatchObject({
      AttributeDefinitions: [{ AttributeName: 'manifestId', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
    expect(manifests.Properties!.GlobalSecondaryIndexes).toBeUndefined();
  });

  it('every table has point-in-time recovery', () => {
    template.allResourcesProperties('AWS::DynamoDB::Table', { PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } });
  });
});

describe('video bucket', () => {
  it('blocks every kind of public access and enforces bucket-owner ownership', () => {
    template.resourceCountIs('AWS::S3::Bucket', 1);
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
  });

  it('encrypts objects at rest', () => {
    const algorithm = new Capture();
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: Match.arrayWith([
          Match.objectLike({ ServerSideEncryptionByDefault: Match.objectLike({ SSEAlgorithm: algorithm }) }),
        ]),
      },
    });
    expect(['AES256', 'aws:kms', 'aws:kms:dsse']).toContain(algorithm.asString());
  });

  it('has a bucket policy that denies any request not over TLS', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            Resource: Match.arrayWith([{ 'Fn::GetAtt': [bucketId, 'Arn'] }, { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/*']] }]),
          }),
        ]),
      },
    });
  });

  it('aborts incomplete multipart uploads (a cut copy leaves no billed parts)', () => {
    const days = new Capture();
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([Match.objectLike({ Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: days } })]),
      },
    });
    expect(days.asNumber()).toBeGreaterThanOrEqual(1);
    expect(days.asNumber()).toBeLessThanOrEqual(7);
  });

  it.each(['requests/', 'incoming/', 'rejected/'])('expires objects under %s after 30 days', (prefix) => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([Match.objectLike({ Status: 'Enabled', Prefix: prefix, ExpirationInDays: 30 })]),
      },
    });
  });

  it('never expires the videos, the accepted uploads or the batch manifests', () => {
    const rules = (json.Resources[bucketId]!.Properties!.LifecycleConfiguration as { Rules: Array<Record<string, unknown>> }).Rules;
    const expiring = rules.filter((rule) => rule.ExpirationInDays !== undefined || rule.ExpirationDate !== undefined);
    // An expiration without a prefix would take every object, videos included.
    expect(expiring.map((rule) => rule.Prefix).sort()).toEqual(['incoming/', 'rejected/', 'requests/']);
  });
});

describe('Lambda functions', () => {
  it('every function is one of ours (a HouseFunction): CDK adds none of its own', () => {
    const functions = resourcesOfType(json, 'AWS::Lambda::Function').map(([id]) => id);
    // The five task functions, the intake, the upload trigger, the batch runner, the sweeper, the admission function,
    // the drop-in API's token authorizer and the webhook deliverer: none may be missed below.
    expect(houseFunctionIds).toEqual(
      expect.arrayContaining([
        ...Object.values(taskFunctionIds),
        intakeFunctionId,
        functionOfHandler(json, HANDLER.sweeper),
        functionOfHandler(json, HANDLER.admission),
        functionOfHandler(json, HANDLER.tokenAuthorizer),
        functionOfHandler(json, HANDLER.deliverWebhook),
      ]),
    );
    expect(houseFunctionIds).toHaveLength(12);
    expect(functions.filter((id) => !houseFunctionIds.includes(id))).toEqual([]);
  });

  it('every function of ours runs Node 24 on arm64 with active X-Ray tracing', () => {
    for (const functionId of houseFunctionIds) {
      expect(json.Resources[functionId]!.Properties, functionId).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
      });
    }
  });

  it('every function of ours logs to its own log group with a retention', () => {
    const logGroups = new Set<string>();
    for (const functionId of houseFunctionIds) {
      const fn = json.Resources[functionId]!;
      const logGroupId = logicalIdOf((fn.Properties!.LoggingConfig as { LogGroup?: unknown } | undefined)?.LogGroup);
      expect(logGroupId, `${functionId} has no log group of its own`).toBeDefined();
      expect(json.Resources[logGroupId!]).toMatchObject({ Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: expect.any(Number) } });
      logGroups.add(logGroupId!);
    }
    expect(logGroups.size).toBe(houseFunctionIds.length);
  });

  // AWSLambdaBasicExecutionRole would let each function create log groups and write to every one in the account.
  it('every function of ours may write to its own log group and to no other, with no managed policy', () => {
    for (const functionId of houseFunctionIds) {
      const roleId = roleIdOf(json, functionId);
      expect(json.Resources[roleId]!.Properties?.ManagedPolicyArns, functionId).toBeUndefined();
      const logGroupId = logicalIdOf((json.Resources[functionId]!.Properties!.LoggingConfig as { LogGroup: unknown }).LogGroup)!;
      const statements = statementsOfRole(json, roleId);
      const ownLogGroup = (rendered: string) => rendered === `\${${logGroupId}.Arn}`;
      for (const action of ['logs:CreateLogStream', 'logs:PutLogEvents']) expect(allows(statements, action, ownLogGroup), `${functionId} ${action}`).toBe(true);
      const logResources = statements
        .filter((statement) => statement.Effect === 'Allow' && allowedActions([statement]).some((action) => action.startsWith('logs:')))
        .flatMap(renderedResources);
      expect(logResources, functionId).toEqual([`\${${logGroupId}.Arn}`]);
      expect(
        allowedActions(statements)
          .filter((action) => action.startsWith('logs:'))
          .sort(),
        functionId,
      ).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
    }
  });

  it('no function carries the provider key or the webhook secret: only secret ids; the one secret of the template is generated at deploy', () => {
    // The webhook signing secret: Secrets Manager generates its value, so the template holds none.
    const [, signing] = onlyResourceOfType(json, 'AWS::SecretsManager::Secret');
    expect(signing.Properties).toMatchObject({ GenerateSecretString: { PasswordLength: 48, ExcludePunctuation: true } });
    expect(signing.Properties).not.toHaveProperty('SecretString');
    expect(JSON.stringify(json)).not.toMatch(/\{\{resolve:secretsmanager/);
    for (const [functionId] of resourcesOfType(json, 'AWS::Lambda::Function')) {
      const variables = environmentOf(functionId);
      // TOKENS_TABLE names the table of token hashes (test/infra/drop-in-api.test.ts), no secret.
      const sensitive = Object.keys(variables).filter((name) => /KEY|SECRET|TOKEN|PASSWORD|BEARER/i.test(name) && name !== 'TOKENS_TABLE');
      expect(sensitive, functionId).toEqual(
        sensitive.length ? [functionId === functionOfHandler(json, HANDLER.deliverWebhook) ? 'WEBHOOK_SECRET_ID' : 'PROVIDER_API_KEY_SECRET_ID'] : [],
      );
      for (const value of Object.values(variables)) expect(render(value)).not.toMatch(/resolve:|SecretString/);
    }
    for (const state of ['SubmitTask', 'PollTask'] as const) {
      expect(render(environmentOf(taskFunctionIds[state]).PROVIDER_API_KEY_SECRET_ID)).toMatch(
        /^arn:\$\{AWS::Partition\}:secretsmanager:\$\{AWS::Region\}:\$\{AWS::AccountId\}:secret:[\w/+=.@-]+$/,
      );
    }
  });
});

describe('state machine', () => {
  it('is a STANDARD workflow with X-Ray tracing and logging to a log group', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({
        Level: Match.stringLikeRegexp('^(ALL|ERROR|FATAL)$'),
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] } } }],
      }),
    });
    const logGroupArn = new Capture();
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      LoggingConfiguration: { Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: logGroupArn } }] },
    });
    expect(json.Resources[logicalIdOf(logGroupArn.asObject())!]?.Type).toBe('AWS::Logs::LogGroup');
  });

  it('SubmitTask knows the admission table and the cap (it records what the provider accepted or refused in the slots)', () => {
    expect(environmentOf(taskFunctionIds.SubmitTask)).toMatchObject({ ADMISSION_TABLE: { Ref: admissionTableId }, MAX_JOBS_IN_FLIGHT: '20' });
  });

  it('PollTask knows the late-follow window in seconds (60 minutes by default), and no other task function does', () => {
    expect(environmentOf(taskFunctionIds.PollTask).LATE_FOLLOW_SECONDS).toBe('3600');
    for (const state of TASK_STATES.filter((candidate) => candidate !== 'PollTask')) {
      expect(environmentOf(taskFunctionIds[state]), state).not.toHaveProperty('LATE_FOLLOW_SECONDS');
    }
  });
});

describe('HTTP API', () => {
  // The IAM API; the drop-in API (Bearer tokens, test/infra/drop-in-api.test.ts) is the other RestApi.
  const iamApiId = () =>
    onlyResourceOfType(json, 'AWS::ApiGateway::RestApi', {
      description: 'with IAM auth',
      test: (api) => !String(api.Properties!.Description).includes('Bearer'),
    })[0];
  const iamMethods = () => resourcesOfType(json, 'AWS::ApiGateway::Method').filter(([, method]) => logicalIdOf(method.Properties!.RestApiId) === iamApiId());
  const iamStage = () =>
    onlyResourceOfType(json, 'AWS::ApiGateway::Stage', {
      description: 'of the IAM API',
      test: (stage) => logicalIdOf(stage.Properties!.RestApiId) === iamApiId(),
    });
  const methodAt = (httpMethod: string, path: string) => {
    const found = iamMethods().filter(([, method]) => method.Properties!.HttpMethod === httpMethod && apiPathOf(json, method.Properties!.ResourceId) === path);
    expect(found, `${httpMethod} ${path}`).toHaveLength(1);
    return found[0]!;
  };

  it.each([
    ['POST', '/jobs'],
    ['GET', '/jobs'],
    ['GET', '/jobs/{jobId}'],
    ['DELETE', '/jobs/{jobId}'],
    ['GET', '/openapi.json'],
    ['POST', '/v1/video/generations'],
    ['GET', '/v1/video/generations/{task_id}'],
  ])('%s %s requires IAM (SigV4) and proxies to the intake function', (httpMethod, path) => {
    const [, method] = methodAt(httpMethod, path);
    const apiId = iamApiId();
    expect(method.Properties!.RestApiId).toEqual({ Ref: apiId });
    expect(method.Properties).toMatchObject({
      AuthorizationType: 'AWS_IAM',
      Integration: { Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST' },
    });
    expect(render((method.Properties!.Integration as { Uri: unknown }).Uri)).toBe(
      `arn:\${AWS::Partition}:apigateway:\${AWS::Region}:lambda:path/2015-03-31/functions/\${${intakeFunctionId}.Arn}/invocations`,
    );
    // API Gateway's deployed stage may invoke the function for this route (path parameters become `*`).
    const [stageId] = iamStage();
    const sourceArns = resourcesOfType(json, 'AWS::Lambda::Permission')
      .filter(([, permission]) => render(permission.Properties!.FunctionName) === `\${${intakeFunctionId}.Arn}`)
      .filter(([, permission]) => permission.Properties!.Principal === 'apigateway.amazonaws.com')
      .map(([, permission]) => render(permission.Properties!.SourceArn));
    expect(sourceArns).toContain(
      `arn:\${AWS::Partition}:execute-api:\${AWS::Region}:\${AWS::AccountId}:\${${apiId}}/\${${stageId}}/${httpMethod}${path.replace(/\{\w+\}/g, '*')}`,
    );
  });

  it('writes access logs to its own log group, named by the ARN API Gateway stores (no trailing :*, so drift detection sees no change)', () => {
    const [, stage] = iamStage();
    const destination = render((stage.Properties!.AccessLogSetting as { DestinationArn: unknown }).DestinationArn);
    const logGroup = /^arn:\$\{AWS::Partition\}:logs:\$\{AWS::Region\}:\$\{AWS::AccountId\}:log-group:\$\{(\w+)\}$/.exec(destination);
    expect(logGroup, destination).not.toBeNull();
    expect(json.Resources[logGroup![1]!]?.Type).toBe('AWS::Logs::LogGroup');
  });

  it('no method is open: every method of the API requires IAM auth (and every other method a token: drop-in-api.test.ts)', () => {
    const methods = iamMethods();
    expect(methods.length).toBeGreaterThan(0);
    for (const [id, method] of methods) expect(method.Properties!.AuthorizationType, id).toBe('AWS_IAM');
    for (const [id, method] of resourcesOfType(json, 'AWS::ApiGateway::Method')) expect(method.Properties!.AuthorizationType, id).not.toBe('NONE');
  });

  it('has exactly the designed routes', () => {
    const routes = iamMethods().map(([, method]) => `${String(method.Properties!.HttpMethod)} ${apiPathOf(json, method.Properties!.ResourceId)}`);
    expect(routes.sort()).toEqual([
      'DELETE /jobs/{jobId}',
      'GET /jobs',
      'GET /jobs/{jobId}',
      'GET /openapi.json',
      'GET /v1/video/generations/{task_id}',
      'POST /jobs',
      'POST /jobs/{jobId}/rerun',
      'POST /v1/video/generations',
    ]);
  });
});

describe('IAM (least privilege)', () => {
  it('the intake function may start executions of the state machine and write the table', () => {
    const intakeRoleId = roleIdOf(json, intakeFunctionId);
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: Match.arrayWith([{ Ref: intakeRoleId }]),
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Allow', Action: 'states:StartExecution', Resource: { Ref: stateMachineId } })]),
      },
    });
    const statements = statementsOfFunction(intakeFunctionId);
    for (const action of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:GetItem', 'dynamodb:Query']) {
      expect(allows(statements, action, isTableArn), action).toBe(true);
    }
    // The GSI listing needs the index ARN too: byStatus (GET /jobs?status=…) and byCreatedAt (GET /jobs).
    expect(allows(statements, 'dynamodb:Query', (arn) => arn === `\${${tableId}.Arn}/index/*`)).toBe(true);
    for (const index of ['byStatus', 'byCreatedAt']) {
      expect(
        allows(statements, 'dynamodb:Query', (arn) => resourceCovers(arn, `\${${tableId}.Arn}/index/${index}`)),
        index,
      ).toBe(true);
    }
  });

  // DELETE /jobs/{jobId} stops the job's execution; the cancel reads its state first.
  it('the intake function may stop and describe executions of this state machine, and of no other', () => {
    const statements = statementsOfFunction(intakeFunctionId);
    const ours = (arn: string) => (rendered: string) => resourceCovers(rendered, arn);
    for (const action of ['states:StopExecution', 'states:DescribeExecution']) {
      // A job's own execution, and the sweeper's resumed one, are executions of this machine.
      for (const name of ['job-1', 'job-1-resume-2'])
        expect(allows(statements, action, ours(executionArnOf(stateMachineId, name))), `${action} ${name}`).toBe(true);
      // Never an execution of another machine, and never by a wildcard resource.
      const otherMachine = `arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:execution:another-machine:job-1`;
      expect(allows(statements, action, ours(otherMachine)), `${action} on another machine`).toBe(false);
      expect(
        allows(statements, action, (rendered) => rendered === '*'),
        `${action} on *`,
      ).toBe(false);
    }
    // Starting stays on the machine itself; stopping is never granted on it (it is not an execution).
    expect(allows(statements, 'states:StopExecution', (rendered) => rendered === `\${${stateMachineId}}`)).toBe(false);
    // No other Step Functions action: no redrive, no history, no updating the machine.
    const states = allowedActions(statements).filter((action) => action.startsWith('states:'));
    expect(states.sort()).toEqual(['states:DescribeExecution', 'states:StartExecution', 'states:StopExecution']);
  });

  it('only the submit and poll functions may read the provider secret', () => {
    const secretArn = render(environmentOf(taskFunctionIds.SubmitTask).PROVIDER_API_KEY_SECRET_ID);
    // A secret imported by name: the grant must cover the 6-character suffix Secrets Manager appends.
    const isProviderSecret = (arn: string) => arn === `${secretArn}-??????` || arn === secretArn;
    for (const state of ['SubmitTask', 'PollTask'] as const) {
      expect(allows(statementsOfFunction(taskFunctionIds[state]), 'secretsmanager:GetSecretValue', isProviderSecret), state).toBe(true);
    }
    // Every other function of the stack, the trigger functions and CDK's own included; the webhook
    // deliverer reads its own secret only (test/infra/webhooks.test.ts).
    const others = resourcesOfType(json, 'AWS::Lambda::Function')
      .map(([id]) => id)
      .filter((id) => id !== taskFunctionIds.SubmitTask && id !== taskFunctionIds.PollTask && id !== functionOfHandler(json, HANDLER.deliverWebhook));
    expect(others).toEqual(
      expect.arrayContaining([taskFunctionIds.StoreVideo, taskFunctionIds.DescribeFailure, taskFunctionIds.AnnounceOutcome, intakeFunctionId]),
    );
    for (const functionId of others) {
      expect(
        allowedActions(statementsOfFunction(functionId)).filter((action) => action.startsWith('secretsmanager:')),
        functionId,
      ).toEqual([]);
    }
    const machineStatements = statementsOfRole(json, roleIdOf(json, stateMachineId));
    expect(allowedActions(machineStatements).filter((action) => action.startsWith('secretsmanager:'))).toEqual([]);
  });

  // The generation-time history lives in the Jobs table beside the jobs (generation-history.ts): the
  // two workflow functions that use it may touch those items and no job.
  it('SubmitTask reads and PollTask appends to only the generation-history items of the Jobs table', () => {
    const historyOnly = { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${HISTORY_KEY_PREFIX}*`] } };
    const onTable = (statement: PolicyStatement) => renderedResources(statement).some((arn) => arn.includes(`\${${tableId}`));
    const expected: Record<'SubmitTask' | 'PollTask', string[]> = {
      SubmitTask: ['dynamodb:GetItem'],
      PollTask: ['dynamodb:UpdateItem'],
    };
    for (const [state, actions] of Object.entries(expected) as Array<[keyof typeof expected, string[]]>) {
      const functionId = taskFunctionIds[state];
      const tableStatements = statementsOfFunction(functionId).filter(
        (statement) => statement.Effect === 'Allow' && onTable(statement) && allowedActions([statement]).some((action) => action.startsWith('dynamodb:')),
      );
      expect(tableStatements.length, state).toBeGreaterThan(0);
      // Every grant on the table carries the condition: none reaches a job item.
      for (const statement of tableStatements) expect(statement.Condition, `${state} ${JSON.stringify(statement.Action)}`).toEqual(historyOnly);
      expect(allowedActions(tableStatements).sort(), state).toEqual(actions);
      // No listing, no other write, no index, however the actions are spelled.
      const others = [
        'dynamodb:Query',
        'dynamodb:Scan',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'dynamodb:BatchGetItem',
        'dynamodb:BatchWriteItem',
      ];
      for (const action of others.filter((candidate) => !actions.includes(candidate))) {
        expect(
          allows(statementsOfFunction(functionId), action, (arn) => arn.includes(`\${${tableId}`)),
          `${state} ${action}`,
        ).toBe(false);
      }
      expect(render(environmentOf(functionId).GENERATION_HISTORY_TABLE), state).toBe(`\${${tableId}}`);
    }
    // The LeadingKeys pattern admits every history key and no job id.
    const pattern = `${HISTORY_KEY_PREFIX}*`;
    expect(resourceCovers(pattern, historyKey({ duration: -1, resolution: '720p', generateAudio: true, media: 'video' }))).toBe(true);
    expect(resourceCovers(pattern, historyKey({ duration: 5, resolution: '480p', generateAudio: false, media: 'text' }))).toBe(true);
    for (const jobId of ['3f2b8c1e-0d4a-4c55-9a51-7f0e3c2b1a90', 'idem-0123456789abcdef0123456789abcdef01234567', 'batch-0123', 'upload-0123']) {
      expect(resourceCovers(pattern, jobId), jobId).toBe(false);
    }
    // No other function of the stack is granted the history by that condition.
    for (const [functionId] of resourcesOfType(json, 'AWS::Lambda::Function')) {
      if (functionId === taskFunctionIds.SubmitTask || functionId === taskFunctionIds.PollTask) continue;
      const conditioned = statementsOfFunction(functionId).filter((statement) => JSON.stringify(statement.Condition ?? {}).includes('dynamodb:LeadingKeys'));
      expect(conditioned, functionId).toEqual([]);
      expect(environmentOf(functionId), functionId).not.toHaveProperty('GENERATION_HISTORY_TABLE');
    }
  });

  // One item holds every slot and the learned limit: a function that could write it without needing to
  // could free or take slots for jobs it knows nothing of.
  it('only the functions that take, give back or learn from slots may touch the admission table: GetItem, PutItem, UpdateItem on the table itself', () => {
    const slotUsers = new Map([
      ['intake', intakeFunctionId],
      ['s3-trigger', functionOfHandler(json, 's3-trigger')],
      ['batch-runner', functionOfHandler(json, 'batch-runner')],
      ['sweeper', functionOfHandler(json, HANDLER.sweeper)],
      [HANDLER.admission, functionOfHandler(json, HANDLER.admission)],
      ['SubmitTask', taskFunctionIds.SubmitTask],
    ]);
    const onAdmission = (statement: PolicyStatement) => renderedResources(statement).some((arn) => arn.includes(`\${${admissionTableId}`));
    const roles: Array<[string, string]> = [
      ...resourcesOfType(json, 'AWS::Lambda::Function').map(([functionId]) => [functionId, roleIdOf(json, functionId)] as [string, string]),
      [stateMachineId, roleIdOf(json, stateMachineId)],
    ];
    for (const [resourceId, roleId] of roles) {
      const statements = statementsOfRole(json, roleId).filter((statement) => statement.Effect === 'Allow' && onAdmission(statement));
      const users = [...slotUsers.values()];
      if (!users.includes(resourceId)) {
        expect(statements, `${resourceId} may touch the admission table`).toEqual([]);
        expect(environmentOf(resourceId), resourceId).not.toHaveProperty('ADMISSION_TABLE');
        continue;
      }
      // Exactly the three item actions, on the table ARN (no index, no wildcard), unconditioned.
      expect(
        statements.map((statement) => ({ Action: statement.Action, Resource: renderedResources(statement), Condition: statement.Condition })),
        resourceId,
      ).toEqual([{ Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], Resource: [`\${${admissionTableId}.Arn}`], Condition: undefined }]);
      const all = statementsOfRole(json, roleId);
      for (const action of [
        'dynamodb:Query',
        'dynamodb:Scan',
        'dynamodb:DeleteItem',
        'dynamodb:BatchWriteItem',
        'dynamodb:BatchGetItem',
        'dynamodb:DescribeTable',
      ]) {
        expect(
          allows(all, action, (arn) => arn.includes(`\${${admissionTableId}`)),
          `${resourceId} ${action}`,
        ).toBe(false);
      }
      expect(environmentOf(resourceId), resourceId).toMatchObject({ ADMISSION_TABLE: { Ref: admissionTableId }, MAX_JOBS_IN_FLIGHT: '20' });
    }
    // Each of them is found, and the state machine is not among them.
    expect(new Set(slotUsers.values()).size).toBe(slotUsers.size);
  });

  it('the state machine may update the table and invoke exactly its task functions', () => {
    const statements = statementsOfRole(json, roleIdOf(json, stateMachineId));
    expect(allows(statements, 'dynamodb:UpdateItem', isTableArn)).toBe(true);
    for (const state of TASK_STATES) {
      expect(allows(statements, 'lambda:InvokeFunction', isFunctionArn(taskFunctionIds[state])), state).toBe(true);
    }
    const invocable = statements
      .filter((statement) => statement.Effect === 'Allow' && [statement.Action].flat().includes('lambda:InvokeFunction'))
      .flatMap(renderedResources)
      .map((arn) => /^\$\{(.+)\.Arn\}/.exec(arn)?.[1]);
    expect(new Set(invocable)).toEqual(new Set(Object.values(taskFunctionIds)));
    expect(allows(statements, 'lambda:InvokeFunction', isFunctionArn(intakeFunctionId))).toBe(false);
  });

  // The DynamoDB tasks need UpdateItem only; a broader grant would let a bug overwrite or delete jobs.
  it('the state machine may only UpdateItem on the table, never put or delete items', () => {
    const statements = statementsOfRole(json, roleIdOf(json, stateMachineId));
    const onTable = (arn: string) => arn.includes(`\${${tableId}`);
    for (const action of ['dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem']) {
      expect(allows(statements, action, onTable), action).toBe(false);
    }
  });

  it('the task functions touch only their own prefixes of the bucket', () => {
    const onPrefix = (prefix: string) => (arn: string) => arn === `\${${bucketId}.Arn}/${prefix}*`;
    const storeVideo = statementsOfFunction(taskFunctionIds.StoreVideo);
    expect(allows(storeVideo, 's3:PutObject', onPrefix('videos/'))).toBe(true);
    expect(allows(storeVideo, 's3:AbortMultipartUpload', onPrefix('videos/'))).toBe(true);
    expect(allows(storeVideo, 's3:PutObject', onPrefix('requests/'))).toBe(false);
    expect(allows(storeVideo, 's3:PutObject', (arn) => arn === `\${${bucketId}.Arn}/*`)).toBe(false);
    for (const key of ['requests/job.json', 'incoming/spec.json', 'accepted/cat.png', 'batches/night.jsonl']) {
      expect(allows(storeVideo, 's3:PutObject', coversObject(key)), key).toBe(false);
      expect(allows(storeVideo, 's3:DeleteObject', coversObject(key)), key).toBe(false);
    }
    // SubmitTask reads the request body and presigns s3:// media, only ever under the media prefixes: it reads, never writes.
    const submitTask = statementsOfFunction(taskFunctionIds.SubmitTask);
    for (const key of ['requests/job-1/abc.json', 'media/cat.png', 'incoming/cat.png', 'media/uploads/upload-1/cat.png']) {
      expect(allows(submitTask, 's3:GetObject', coversObject(key)), key).toBe(true);
    }
    for (const key of ['videos/2026/12/04/job-2.mp4', 'batches/night.jsonl', 'accepted/spec.json', 'rejected/spec.json']) {
      expect(allows(submitTask, 's3:GetObject', coversObject(key)), key).toBe(false);
    }
    expect(allows(submitTask, 's3:PutObject', () => true)).toBe(false);
    expect(allows(submitTask, 's3:DeleteObject', () => true)).toBe(false);
    expect(allows(statementsOfFunction(taskFunctionIds.PollTask), 's3:GetObject', () => true)).toBe(false);
    // DescribeFailure and AnnounceOutcome have no business in the bucket.
    for (const state of ['DescribeFailure', 'AnnounceOutcome'] as const) {
      expect(
        allowedActions(statementsOfFunction(taskFunctionIds[state])).filter((action) => action.startsWith('s3:')),
        state,
      ).toEqual([]);
    }
  });

  it('no role is granted a wildcard resource except for X-Ray and log delivery, which need one', () => {
    const wildcardOk =
      /^(xray:|logs:(Create|Get|Update|Delete|List)LogDelivery|logs:ListLogDeliveries|logs:PutResourcePolicy|logs:DescribeResourcePolicies|logs:DescribeLogGroups)/;
    for (const [policyId, policy] of resourcesOfType(json, 'AWS::IAM::Policy')) {
      for (const statement of (policy.Properties!.PolicyDocument as { Statement: PolicyStatement[] }).Statement) {
        if (statement.Effect !== 'Allow' || !renderedResources(statement).includes('*')) continue;
        for (const action of [statement.Action ?? []].flat()) expect(action, policyId).toMatch(wildcardOk);
      }
    }
  });
});

describe('monitoring', () => {
  const alarmOn = (metricName: string, queue?: string) =>
    onlyResourceOfType(json, 'AWS::CloudWatch::Alarm', {
      description: `on ${metricName}${queue ? ` of ${queue}` : ''}`,
      test: (candidate) =>
        candidate.Properties?.MetricName === metricName &&
        (!queue ||
          (candidate.Properties.Dimensions as { Value: unknown }[] | undefined)?.some((dimension) => render(dimension.Value).includes(queue)) === true),
    })[1].Properties!;
  const alarm = () => alarmOn('StuckJobs');

  it('alarms on the sweeper’s StuckJobs: Sum over 15 min ≥ 1, one period, missing data not breaching', () => {
    expect(alarm()).toEqual({
      AlarmDescription: expect.any(String),
      Namespace: 'VideoPipeline',
      MetricName: 'StuckJobs',
      Dimensions: [{ Name: 'service', Value: 'video-pipeline-sweeper' }],
      Statistic: 'Sum',
      Period: 15 * 60,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      // No sweep data (no stuck job counted, or no sweep yet) is no alarm.
      TreatMissingData: 'notBreaching',
    });
  });

  it('watches the metric the sweeper publishes: the shared namespace and the sweeper service', () => {
    // Powertools Metrics: the namespace, and the service as the `service` dimension of every metric.
    const source = readFileSync(fileURLToPath(new URL(`../../runtime/handlers/${HANDLER.sweeper}.ts`, import.meta.url)), 'utf8');
    expect(source).toMatch(/createMetrics\(SERVICE_NAMES\[HANDLER\.sweeper\]\)/);
    expect(source).toMatch(/addMetric\(\s*METRIC\.StuckJobs\b/);
    expect(METRIC.StuckJobs).toBe('StuckJobs');
    expect([METRICS_NAMESPACE, SWEEPER_SERVICE]).toEqual([alarm().Namespace, (alarm().Dimensions as Array<{ Value: string }>)[0]!.Value]);
  });

  it('alarms on failed executions, the provider failure rate (> 20 % of polls) and the upload dead letters', () => {
    expect(alarmOn('ExecutionsFailed')).toMatchObject({ Namespace: 'AWS/States', Statistic: 'Sum', Threshold: 5, TreatMissingData: 'notBreaching' });
    const rate = resourcesOfType(json, 'AWS::CloudWatch::Alarm')
      .map(([, candidate]) => candidate.Properties!)
      .find((candidate) => Array.isArray(candidate.Metrics));
    expect(rate).toMatchObject({ Threshold: 20, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching' });
    const expression = rate!.Metrics as Array<{ Expression?: string; MetricStat?: { Metric: { MetricName: string } } }>;
    expect(expression.find((metric) => metric.Expression)?.Expression).toBe('100 * failures / (polls + failures)');
    expect(expression.flatMap((metric) => (metric.MetricStat ? [metric.MetricStat.Metric.MetricName] : [])).sort()).toEqual([
      'ProviderPollFailures',
      'ProviderPolls',
    ]);
    expect(alarmOn('ApproximateNumberOfMessagesVisible', 'TriggersUploadDeadLetters')).toMatchObject({ Namespace: 'AWS/SQS', Threshold: 1 });
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  it('every alarm on a sweeper metric holds at least one sweep per period (the schedule is no slower than the period)', () => {
    const sweeperId = functionOfHandler(json, HANDLER.sweeper);
    const [, rule] = onlyResourceOfType(json, 'AWS::Events::Rule', {
      description: 'that runs the sweeper',
      test: (candidate) => ((candidate.Properties?.Targets as Array<{ Arn: unknown }>) ?? []).some((target) => logicalIdOf(target.Arn) === sweeperId),
    });
    const rate = /^rate\((\d+) minutes?\)$/.exec(String(rule.Properties!.ScheduleExpression));
    expect(rate, String(rule.Properties!.ScheduleExpression)).not.toBeNull();
    const onSweeper = resourcesOfType(json, 'AWS::CloudWatch::Alarm')
      .map(([, candidate]) => candidate.Properties!)
      .filter((candidate) => JSON.stringify(candidate.Dimensions ?? []).includes(SWEEPER_SERVICE));
    expect(onSweeper.map((candidate) => candidate.MetricName).sort()).toEqual(['OldestWaitSeconds', 'StuckJobs']);
    for (const candidate of onSweeper) expect(Number(rate![1]) * 60, String(candidate.MetricName)).toBeLessThanOrEqual(candidate.Period as number);
  });

  // A full line is normal under load; a line that does not move is not (slots held by lost executions,
  // a learned limit stuck low), and no job in it fails until it waits out maxQueueHours.
  it('alarms when the oldest waiting job has waited longer than queueAgeAlarmMinutes (60 by default): the sweeper’s OldestWaitSeconds, Maximum', () => {
    expect(alarmOn('OldestWaitSeconds')).toEqual({
      AlarmDescription: expect.stringContaining('admission line'),
      Namespace: METRICS_NAMESPACE,
      MetricName: 'OldestWaitSeconds',
      Dimensions: [{ Name: 'service', Value: SWEEPER_SERVICE }],
      Statistic: 'Maximum',
      Period: 5 * 60,
      EvaluationPeriods: 1,
      Threshold: 60 * 60,
      ComparisonOperator: 'GreaterThanThreshold',
      // No sweep data is no alarm; the StuckJobs alarm and the sweeper's own errors speak for a sweeper that stopped.
      TreatMissingData: 'notBreaching',
    });
    const custom = synthesizePipelineTemplate({ queueAgeAlarmMinutes: 25 }) as unknown as CfnJson;
    const customAlarm = onlyResourceOfType(custom, 'AWS::CloudWatch::Alarm', {
      description: 'on OldestWaitSeconds',
      test: (candidate) => candidate.Properties?.MetricName === 'OldestWaitSeconds',
    })[1];
    expect(customAlarm.Properties!.Threshold).toBe(25 * 60);
  });

  it('the sweeper publishes every line metric the alarm and the dashboard read, under its service', () => {
    const source = readFileSync(fileURLToPath(new URL(`../../runtime/handlers/${HANDLER.sweeper}.ts`, import.meta.url)), 'utf8');
    for (const metricName of ['OldestWaitSeconds', 'LineLength', 'SlotsHeld', 'EffectiveCap', 'SlotsReclaimed'] as const) {
      expect(source, metricName).toMatch(new RegExp(`addMetric\\(\\s*METRIC\\.${metricName}\\b`));
      expect(METRIC[metricName], metricName).toBe(metricName);
    }
  });

  it('the dashboard shows the admission line: its length, the slots held, the effective cap, the oldest wait and the slots reclaimed', () => {
    const [, dashboard] = onlyResourceOfType(json, 'AWS::CloudWatch::Dashboard');
    const body = JSON.parse(render(dashboard.Properties!.DashboardBody)) as { widgets: Array<{ properties: { title?: string; metrics?: unknown[][] } }> };
    const metricsOf = (title: RegExp) => {
      const widget = body.widgets.find((candidate) => title.test(candidate.properties.title ?? ''));
      expect(widget, String(title)).toBeDefined();
      return (widget!.properties.metrics ?? []).map((metric) => metric.filter((part) => typeof part === 'string').join(' '));
    };
    const line = [...metricsOf(/^Admission line/), ...metricsOf(/^Oldest wait/)];
    for (const metricName of ['LineLength', 'SlotsHeld', 'EffectiveCap', 'OldestWaitSeconds', 'SlotsReclaimed']) {
      expect(
        line.some((metric) => metric.startsWith(`${METRICS_NAMESPACE} ${metricName} service ${SWEEPER_SERVICE}`)),
        metricName,
      ).toBe(true);
    }
  });
});
