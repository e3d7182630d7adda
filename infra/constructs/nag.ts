import { CfnElement, Stack, Validations } from 'aws-cdk-lib';
import type { Grant, IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
// cdk-nag's own rendering of a resource in its findings; not re-exported by its index.
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference.js';
import { Construct, type IConstruct } from 'constructs';

/**
 * Each construct acknowledges the cdk-nag (AwsSolutions) findings it accepts itself, next to the
 * resource or grant they concern, with the reason they are acceptable here; findings worth fixing
 * are fixed instead. cdk-nag v3 reads CDK's own acknowledgments (`Validations.of(resource).acknowledge`),
 * and test/infra/nag.test.ts fails on any finding left unacknowledged and on any acknowledgment
 * that silences nothing.
 */

/** The CloudFormation resource of a construct (an L1 is its own): acknowledgments sit on it, never on a parent. */
const resourceOf = (construct: IConstruct): IConstruct => (CfnElement.isCfnElement(construct) ? construct : (construct.node.defaultChild ?? construct));

/**
 * A resource (an ARN as CDK builds it, tokens and all) as cdk-nag writes it in a finding: resolved in
 * the stack, then flattened by cdk-nag's own function (`Ref` → `<id>`, `Fn::GetAtt` → `<id.Arn>`).
 * Rendered, not spelled out: the same ARN reads `<AWS::Region>` in an environment-agnostic stack and
 * `us-east-1` in one `cdk synth` gives a region.
 */
const rendered = (scope: IConstruct, resource: string): string => flattenCfnReference(Stack.of(scope).resolve(resource));

/** The finding of a wildcard resource in a policy (AwsSolutions-IAM5 reports one per resource). */
export const wildcardResource = (scope: IConstruct, resource: string): string => `AwsSolutions-IAM5[Resource::${rendered(scope, resource)}]`;

/** The finding of a grant on every object under a prefix of the bucket (bucket-access.ts grants `<prefix>*`). */
export const objectsUnder = (bucket: IBucket, prefix: string): string => wildcardResource(bucket, bucket.arnForObjects(`${prefix}*`));

/** Every resource a grant names in the grantee's policy. */
export const resourcesOf = (grant: Grant): string[] => grant.principalStatements.flatMap((statement) => statement.resources);

/** The policy CDK adds a grantee's grants to: its role's DefaultPolicy. */
export function policyOf(grantee: IGrantable): IConstruct {
  const principal = grantee.grantPrincipal;
  const policy = Construct.isConstruct(principal) ? principal.node.tryFindChild('DefaultPolicy') : undefined;
  if (!policy) throw new Error(`${(grantee as Partial<IConstruct>).node?.path ?? 'the grantee'} has no role with a DefaultPolicy`);
  return resourceOf(policy);
}

/** Whether the finding is acknowledged on the resource of `scope` already. */
function isAcknowledged(scope: IConstruct, id: string): boolean {
  return resourceOf(scope).node.metadata.some(
    (entry) =>
      entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY &&
      Object.keys(entry.data as Record<string, string>).some((acknowledged) => acknowledged.replace(/^annotation::/i, '') === id),
  );
}

/**
 * Acknowledges the finding `id` (the rule, with the finding in brackets for rules that report several)
 * on the CloudFormation resource of `scope`. Once: CDK's report keeps one reason per resource and
 * rule, so a second grant behind the same finding needs the first reason to cover it.
 */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  const resource = resourceOf(scope);
  if (isAcknowledged(resource, id)) {
    throw new Error(`${resource.node.path}: ${id} is acknowledged already; its reason must cover every grant behind it`);
  }
  Validations.of(resource).acknowledge({ id, reason });
}
