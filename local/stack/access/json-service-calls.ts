import type { AwsCall } from './aws-call.js';
import { eventBusNameOf, LOCAL_ACCOUNT, LOCAL_REGION } from '../template-resolver.js';

/**
 * A secret's ARN ends in a hyphen and six random characters, which the grants match with `-??????`
 * (CDK's fromSecretNameV2); a caller may name it without them. Locally it has fixed ones.
 */
const LOCAL_SECRET_SUFFIX = '-a1B2c3';

function secretArn(secretId: string): string {
  const arn = secretId.startsWith('arn:') ? secretId : `arn:aws:secretsmanager:${LOCAL_REGION}:${LOCAL_ACCOUNT}:secret:${secretId}`;
  return /-[A-Za-z0-9]{6}$/.test(arn.slice(arn.indexOf(':secret:'))) ? arn : `${arn}${LOCAL_SECRET_SUFFIX}`;
}

export function eventBusArn(nameOrArn: unknown): string {
  const name = eventBusNameOf(nameOrArn);
  return `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:event-bus/${name}`;
}

/**
 * The IAM calls of one request to the local AWS JSON endpoint (Step Functions, Secrets Manager,
 * EventBridge: local/emulators/stepfunctions/aws-json-endpoint.ts). A target it does not know is
 * still a call, on `*`, so that no role allows it by accident.
 */
export function jsonServiceCalls(target: string, body: Record<string, unknown>): AwsCall[] {
  const [service, operation = ''] = target.split('.');
  switch (service) {
    case 'AWSStepFunctions':
      return [{ action: `states:${operation}`, resource: String(body.stateMachineArn ?? body.executionArn ?? '*'), context: {} }];
    case 'secretsmanager':
      return [{ action: `secretsmanager:${operation}`, resource: secretArn(String(body.SecretId ?? '')), context: {} }];
    case 'AWSEvents': {
      const entries = Array.isArray(body.Entries) ? (body.Entries as { EventBusName?: unknown }[]) : [];
      const buses = new Set(entries.map((entry) => eventBusArn(entry.EventBusName)));
      return [...buses].map((resource) => ({ action: `events:${operation}`, resource, context: {} }));
    }
    default:
      return [{ action: `${service}:${operation}`, resource: '*', context: {} }];
  }
}
