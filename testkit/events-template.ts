import type { CfnResource, CfnTemplate } from '../local/stack/cloud-assembly.js';

/** A function the way HouseFunction synthesizes it: the handler file in the template metadata. */
export function fn(handlerFile: string): CfnResource {
  return { Type: 'AWS::Lambda::Function', Metadata: { 'video-pipeline:handler': handlerFile }, Properties: {} };
}

export function lambdaTarget(functionId: string, extra: Record<string, unknown> = {}) {
  return { Arn: { 'Fn::GetAtt': [functionId, 'Arn'] }, Id: `Target-${functionId}`, ...extra };
}

/** A small template with the shapes CDK writes for our triggers, for router and schedule tests. */
export function eventsTemplate(extra: Record<string, CfnResource> = {}): CfnTemplate {
  return {
    Resources: {
      Videos: { Type: 'AWS::S3::Bucket' },
      Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'CompletionBus' } },
      DeadLetters: { Type: 'AWS::SQS::Queue' },
      UploadFunction: fn('upload'),
      AuditFunction: fn('audit'),
      UploadRule: {
        Type: 'AWS::Events::Rule',
        Properties: {
          EventPattern: {
            source: ['aws.s3'],
            'detail-type': ['Object Created'],
            detail: { bucket: { name: [{ Ref: 'Videos' }] }, object: { key: [{ prefix: 'incoming/' }] } },
          },
          State: 'ENABLED',
          Targets: [
            lambdaTarget('UploadFunction', {
              DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['DeadLetters', 'Arn'] } },
              RetryPolicy: { MaximumEventAgeInSeconds: 21600, MaximumRetryAttempts: 8 },
            }),
          ],
        },
      },
      AuditRule: {
        Type: 'AWS::Events::Rule',
        Properties: {
          EventBusName: { Ref: 'Bus' },
          EventPattern: { source: ['video-pipeline'] },
          State: 'ENABLED',
          Targets: [lambdaTarget('AuditFunction')],
        },
      },
      ...extra,
    },
  };
}
