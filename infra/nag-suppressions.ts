import { CfnElement, Stack, Validations } from 'aws-cdk-lib';
import { CfnMethod } from 'aws-cdk-lib/aws-apigateway';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';
import type { VideoPipelineStack } from './stack.js';
import { MEDIA_PREFIXES } from '../contracts/bucket.js';

/**
 * Every cdk-nag (AwsSolutions) finding this stack accepts, each on the one resource it concerns and
 * with the reason it is acceptable here. Findings worth fixing are fixed in the constructs instead;
 * test/infra/nag.test.ts fails on any finding not listed here and on any entry here that no longer
 * matches a finding.
 */
export interface NagSuppression {
  /** The construct whose finding is accepted: the CloudFormation resource itself, never a parent. */
  scope: IConstruct;
  /** The rule, with the finding in brackets for rules that report several (IAM4, IAM5). */
  id: string;
  reason: string;
}

/** The CloudFormation resource of a construct (an L1 is its own). */
const resourceOf = (construct: IConstruct): IConstruct =>
  CfnElement.isCfnElement(construct) ? construct : (construct.node.defaultChild ?? construct);
const logicalIdOf = (construct: IConstruct): string => {
  const element = resourceOf(construct);
  if (!CfnElement.isCfnElement(element)) throw new Error(`${construct.node.path} has no CloudFormation resource`);
  return Stack.of(element).getLogicalId(element);
};
/** cdk-nag renders `Fn::GetAtt [id, Arn]` as `<id.Arn>`. */
const arnOf = (construct: IConstruct) => `<${logicalIdOf(construct)}.Arn>`;
/** The policy CDK attaches grants to: the role's DefaultPolicy. */
const policyOf = (fn: IFunction): IConstruct => {
  const policy = fn.role?.node.tryFindChild('DefaultPolicy');
  if (!policy) throw new Error(`${fn.node.path} has no role with a DefaultPolicy`);
  return resourceOf(policy);
};
const wildcardResource = (resource: string) => `AwsSolutions-IAM5[Resource::${resource}]`;

const XRAY =
  'X-Ray tracing (Tracing.ACTIVE): xray:PutTraceSegments and xray:PutTelemetryRecords have no resource-level permissions, ' +
  'so IAM requires Resource "*"; test/infra/stack.test.ts checks that no other action of any role has a wildcard resource';
const REQUEST_BODIES =
  'PutObject only, under requests/: each job keeps its body at requests/<jobId>/<requestHash>.json, and job ids are made at run time, ' +
  'so the grant names the prefix, not a key';
const EXECUTIONS =
  'StopExecution and DescribeExecution on executions of this one state machine; executions are named after job ids ' +
  '(and <jobId>-resume-N) at run time, so the ARN ends in a wildcard for the name';
const MEDIA_CHECK =
  'GetObject only (a 16-byte ranged read), under the media prefixes: every job-creating function checks that the s3:// media a ' +
  'request names exists and is an image, video or audio file of the allowed size before it records the job; users choose those keys';
const JOB_INDEXES =
  "grantJobIntake gives every job-creating function the Jobs table and its indexes (byStatus, byCreatedAt: listing jobs, " +
  'counting those in flight, finding unfinished ones; byLine: the admission line); each projects the items the role already ' +
  'reads from the table itself, so index/* exposes nothing more';

export function nagSuppressionsFor(stack: VideoPipelineStack): NagSuppression[] {
  const bucket = arnOf(stack.store.bucket);
  const jobIndexes = wildcardResource(`${arnOf(stack.store.table)}/index/*`);
  const requests = wildcardResource(`${bucket}/requests/*`);
  const machineId = logicalIdOf(stack.workflow.stateMachine);
  const executions = wildcardResource(
    `arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${machineId}"}]}]}:*`,
  );
  const task = stack.workflow.functions;
  const { api } = stack.intake;
  const suppressions: NagSuppression[] = [];
  const add = (scope: IConstruct, id: string, reason: string) => suppressions.push({ scope: resourceOf(scope), id, reason });

  // Every function of the stack traces with X-Ray. (The admission function has no other finding: its
  // grants name the Jobs table, its byLine index, the admission table and the state machine exactly.)
  const functions = [
    ...Object.values(task),
    stack.intake.handler,
    stack.triggers.uploadTrigger,
    stack.triggers.batchRunner,
    stack.sweeper.sweeper,
    stack.admission.handler,
  ];
  for (const fn of functions) add(policyOf(fn), wildcardResource('*'), XRAY);

  // The functions that create jobs (grantJobIntake): request bodies, the job indexes, their executions.
  for (const fn of [stack.intake.handler, stack.triggers.uploadTrigger, stack.triggers.batchRunner, stack.sweeper.sweeper]) {
    add(policyOf(fn), requests, REQUEST_BODIES);
    add(policyOf(fn), jobIndexes, JOB_INDEXES);
    add(policyOf(fn), executions, EXECUTIONS);
    add(policyOf(fn), wildcardResource(`${bucket}/media/*`), MEDIA_CHECK);
  }
  // The upload trigger's own acknowledgment of incoming/ (below) covers its media check too.
  for (const fn of [stack.intake.handler, stack.triggers.batchRunner, stack.sweeper.sweeper]) {
    add(policyOf(fn), wildcardResource(`${bucket}/incoming/*`), MEDIA_CHECK);
  }

  // The workflow's own functions.
  add(policyOf(task.SubmitTask), requests, 'GetObject only, under requests/: SubmitTask reads the body of the job it submits, a key made at run time');
  for (const prefix of MEDIA_PREFIXES) {
    add(
      policyOf(task.SubmitTask),
      wildcardResource(`${bucket}/${prefix}*`),
      `GetObject only, under ${prefix}: SubmitTask presigns the s3:// media a job names, whose keys users choose; it writes and lists nothing`,
    );
  }
  add(
    policyOf(task.StoreVideo),
    wildcardResource(`${bucket}/videos/*`),
    'PutObject, AbortMultipartUpload and GetObject under videos/ only: each finished video is streamed to ' +
      'videos/<date>/<jobId>.mp4, a key made at run time',
  );
  const machinePolicy = resourceOf(stack.workflow.stateMachine.role.node.findChild('DefaultPolicy'));
  add(
    machinePolicy,
    wildcardResource('*'),
    'X-Ray tracing and the execution log group: xray:PutTraceSegments/PutTelemetryRecords/GetSampling* and the CloudWatch Logs ' +
      'delivery actions (logs:*LogDelivery*, PutResourcePolicy, DescribeResourcePolicies, DescribeLogGroups) have no ' +
      'resource-level permissions, so IAM requires Resource "*"',
  );
  for (const [state, fn] of Object.entries(task)) {
    add(
      machinePolicy,
      wildcardResource(`${arnOf(fn)}:*`),
      `CDK's LambdaInvoke grants the ${state} function's qualified ARNs (<arn>:version or alias) beside the unqualified one; ` +
        'they are the same function, and no other function is invocable',
    );
  }

  // The HTTP API (infra/constructs/intake-api.ts).
  add(
    policyOf(stack.intake.handler),
    wildcardResource(`${bucket}/videos/*`),
    'The intake presigns GET links to finished videos (GET /jobs/{jobId} downloadUrl); any video of any job may be asked for, ' +
      'so the grant names the videos/ prefix; it is read-only',
  );
  add(
    api,
    'AwsSolutions-APIG2',
    'The intake function validates every request with the zod request schema and answers 4xx naming each bad field ' +
      '({ error: { code, issues[].path } }); an API Gateway validator would answer its own { message } body first and break that contract',
  );
  add(
    api.deploymentStage,
    'AwsSolutions-APIG3',
    'Every method requires SigV4 (IAM): unsigned or unauthorized requests are refused by API Gateway before they reach a function, ' +
      'and the stage is throttled (50 rps, burst 100); a WAF web ACL (about $6/month before requests) adds little to that here',
  );
  for (const method of api.methods) {
    const cfnMethod = resourceOf(method) as CfnMethod;
    // Only IAM-authorized methods: a method without authorization must surface its own findings.
    if (cfnMethod.authorizationType !== 'AWS_IAM') continue;
    add(
      cfnMethod,
      'AwsSolutions-COG4',
      'The method uses IAM (SigV4) authorization, chosen over Cognito (README, Deploy): the users already hold AWS credentials ' +
        'and access is granted per role with execute-api:Invoke',
    );
  }
  add(
    api.node.findChild('CloudWatchRole'),
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
    "API Gateway's account-level logging role (AWS::ApiGateway::Account), which the stage's execution and access logs need; " +
      'AWS documents this managed policy for it and maintains its log actions',
  );

  // The video bucket (infra/constructs/job-store.ts).
  add(
    stack.store.bucket,
    'AwsSolutions-S1',
    'Server access logs would need a second bucket per deployment (itself unlogged) for best-effort records; the bucket blocks ' +
      'all public access and only this stack\'s roles and 1-hour presigned GETs reach it, and object-level reads and writes, ' +
      'with the caller\'s identity, are what CloudTrail S3 data events record where the account\'s trail enables them',
  );

  // The upload trigger (infra/constructs/triggers.ts): user-chosen keys under its prefixes.
  const uploads = policyOf(stack.triggers.uploadTrigger);
  add(
    uploads,
    wildcardResource(`${bucket}/incoming/*`),
    'GetObject, GetObjectTagging and DeleteObject (and their Version forms, for a version named by its id) on uploads ' +
      'under incoming/, whose keys users choose (GetObject also checks the s3:// media a spec names there)',
  );
  add(uploads, wildcardResource(`${bucket}/accepted/*`), 'PutObject and PutObjectTagging under accepted/: an upload moves there under its own, user-chosen name');
  add(
    uploads,
    wildcardResource(`${bucket}/rejected/*`),
    'PutObject and PutObjectTagging under rejected/: a refused upload moves there under its own name, with <name>.<version>.reason.json',
  );
  add(
    uploads,
    wildcardResource(`${bucket}/media/uploads/*`),
    'PutObject, PutObjectTagging and DeleteObject under media/uploads/: each image job gets its own copy of its image at ' +
      'media/uploads/<jobId>/<file name>, a key made at run time; a refused job\'s copy is removed',
  );
  add(
    policyOf(stack.triggers.batchRunner),
    wildcardResource(`${bucket}/batches/*`),
    'GetObject only, under batches/: the batch runner reads every manifest users upload there, whatever its name',
  );

  return suppressions;
}

/** Acknowledges each accepted finding on its resource (cdk-nag v3 reads CDK's acknowledgments). */
export function applyNagSuppressions(stack: VideoPipelineStack): void {
  for (const { scope, id, reason } of nagSuppressionsFor(stack)) Validations.of(scope).acknowledge({ id, reason });
}
