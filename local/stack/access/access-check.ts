import { runSimulation } from '@cloud-copilot/iam-simulate';
import type { CfnTemplate } from '../cloud-assembly.js';
import { LOCAL_ACCOUNT } from '../template-resolver.js';
import type { AwsCall } from './aws-call.js';
import { bucketPolicies, rolePrincipals } from './role-policies.js';

/** A call a role of the template would not allow: on AWS it fails with AccessDenied. */
export interface AccessDenial extends AwsCall {
  /** The function or state machine (logical id) that made it. */
  principal: string;
  /** The simulator's verdict: ImplicitlyDenied (no statement allows it), ExplicitlyDenied, or why it could not judge. */
  result: string;
  /** How many times it was made. */
  times: number;
}

export interface AccessCheck {
  /** The access key ids the stack signs with, one per function and state machine (their logical ids). */
  accessKeyIds(): string[];
  /** Records what a request signed with `accessKeyId` asked for; a key of no role (a test's own requests) is nobody's. */
  record(accessKeyId: string | undefined, calls: AwsCall[]): void;
  /** How many calls each principal made so far. */
  callsByPrincipal(): Record<string, number>;
  /** Every distinct call recorded so far that its principal's role would not allow. */
  denials(): Promise<AccessDenial[]>;
}

/**
 * On AWS every call goes out with SSL, the same account's role signs it, and a bucket policy can
 * deny what the role allows; the simulator is told so.
 */
const REQUEST_CONTEXT = { 'aws:SecureTransport': 'true' };

/**
 * Records the AWS calls the local stack's functions and state machine make, and judges each against
 * its role's policies in the synthesized template with an IAM policy simulator, so that a grant
 * missing from the stack fails offline instead of at the first deploy. Identical calls are judged once.
 */
export function createAccessCheck(template: CfnTemplate): AccessCheck {
  const principals = rolePrincipals(template);
  const buckets = bucketPolicies(template);
  const recorded = new Map<string, { principal: string; call: AwsCall; times: number }>();
  const verdicts = new Map<string, string>();

  async function judge(principal: string, call: AwsCall): Promise<string> {
    const role = principals.get(principal)!;
    const bucket = call.resource.startsWith('arn:aws:s3:::') ? buckets.get(call.resource.replace(/\/.*$/, '')) : undefined;
    const answer = await runSimulation(
      {
        request: {
          principal: role.roleArn,
          action: call.action,
          resource: { resource: call.resource, accountId: LOCAL_ACCOUNT },
          contextVariables: { ...REQUEST_CONTEXT, ...call.context },
        },
        identityPolicies: role.policies,
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        ...(bucket ? { resourcePolicy: bucket } : {}),
      },
      {},
    );
    if (answer.resultType === 'error') return `not judged: ${JSON.stringify(answer.errors)}`;
    return answer.overallResult;
  }

  return {
    accessKeyIds: () => [...principals.keys()],
    record(accessKeyId, calls) {
      if (!accessKeyId || !principals.has(accessKeyId)) return;
      for (const call of calls) {
        const key = JSON.stringify([accessKeyId, call.action, call.resource, call.context]);
        const entry = recorded.get(key);
        if (entry) entry.times += 1;
        else recorded.set(key, { principal: accessKeyId, call, times: 1 });
      }
    },
    callsByPrincipal() {
      const counts: Record<string, number> = {};
      for (const { principal, times } of recorded.values()) counts[principal] = (counts[principal] ?? 0) + times;
      return counts;
    },
    async denials() {
      const denied: AccessDenial[] = [];
      for (const [key, { principal, call, times }] of recorded) {
        let verdict = verdicts.get(key);
        if (verdict === undefined) {
          verdict = await judge(principal, call);
          verdicts.set(key, verdict);
        }
        if (verdict !== 'Allowed') denied.push({ principal, ...call, result: verdict, times });
      }
      return denied;
    },
  };
}

/** A denied call in one line: who, what, on what, the verdict and how often. */
export function describeDenial(denial: AccessDenial): string {
  const context = Object.keys(denial.context).length > 0 ? ` ${JSON.stringify(denial.context)}` : '';
  return `${denial.principal}: ${denial.action} on ${denial.resource}${context} → ${denial.result} (${denial.times}×)`;
}
