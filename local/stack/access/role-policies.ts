import type { CfnTemplate } from '../cloud-assembly.js';
import { localArn, localPhysicalName, logicalIdsOfType, resolveIntrinsics } from '../template-resolver.js';

/** An IAM policy document as the simulator reads it (intrinsics already resolved to local ARNs). */
export type PolicyDocument = { Version?: string; Statement: Record<string, unknown>[] };

/** What runs AWS calls under a role of the template: a function, or the state machine for its native tasks. */
export interface RolePrincipal {
  /** The function's or state machine's logical id; the local stack signs its requests with it as access key id. */
  name: string;
  roleArn: string;
  /** Every identity policy attached to the role: its inline policies and the AWS::IAM::Policy resources naming it. */
  policies: { name: string; policy: PolicyDocument }[];
}

function roleLogicalIdOf(template: CfnTemplate, owner: string, roleArn: unknown): string {
  const getAtt = (roleArn as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt'];
  if (!getAtt || template.Resources[getAtt[0]]?.Type !== 'AWS::IAM::Role') throw new Error(`${owner}: its role is not a role of the template`);
  return getAtt[0];
}

function policiesOfRole(template: CfnTemplate, roleId: string): RolePrincipal['policies'] {
  const role = template.Resources[roleId]!.Properties ?? {};
  // A managed policy's statements are not in the template: a role that has one cannot be judged offline.
  if (Array.isArray(role.ManagedPolicyArns) && role.ManagedPolicyArns.length > 0) {
    throw new Error(`role ${roleId} has managed policies, whose statements the template does not hold`);
  }
  const inline = ((role.Policies as { PolicyName: string; PolicyDocument: unknown }[] | undefined) ?? []).map((policy) => ({
    name: policy.PolicyName,
    policy: resolveIntrinsics(template, policy.PolicyDocument) as PolicyDocument,
  }));
  const attached = logicalIdsOfType(template, 'AWS::IAM::Policy')
    .filter((policyId) => ((template.Resources[policyId]!.Properties?.Roles as { Ref?: string }[] | undefined) ?? []).some((ref) => ref.Ref === roleId))
    .map((policyId) => ({ name: policyId, policy: resolveIntrinsics(template, template.Resources[policyId]!.Properties!.PolicyDocument) as PolicyDocument }));
  return [...inline, ...attached];
}

/** Every function and state machine of the template with its role's policies, by access key id (its logical id). */
export function rolePrincipals(template: CfnTemplate): Map<string, RolePrincipal> {
  const principals = new Map<string, RolePrincipal>();
  const add = (name: string, roleArn: unknown) => {
    const roleId = roleLogicalIdOf(template, name, roleArn);
    principals.set(name, { name, roleArn: localArn(template, roleId), policies: policiesOfRole(template, roleId) });
  };
  for (const id of logicalIdsOfType(template, 'AWS::Lambda::Function')) add(id, template.Resources[id]!.Properties?.Role);
  for (const id of logicalIdsOfType(template, 'AWS::StepFunctions::StateMachine')) add(id, template.Resources[id]!.Properties?.RoleArn);
  return principals;
}

/** Each bucket's policy (by bucket ARN): it can deny what a role allows (the SSL-only statement). */
export function bucketPolicies(template: CfnTemplate): Map<string, PolicyDocument> {
  const policies = new Map<string, PolicyDocument>();
  for (const id of logicalIdsOfType(template, 'AWS::S3::BucketPolicy')) {
    const properties = template.Resources[id]!.Properties!;
    const bucket = (properties.Bucket as { Ref?: string }).Ref;
    if (!bucket) throw new Error(`bucket policy ${id} does not name its bucket by Ref`);
    policies.set(localArn(template, bucket), resolveIntrinsics(template, properties.PolicyDocument) as PolicyDocument);
  }
  return policies;
}

/** The partition key attribute of each table, by local table name: what `dynamodb:LeadingKeys` is made of. */
export function partitionKeys(template: CfnTemplate): Map<string, string> {
  const keys = new Map<string, string>();
  for (const id of logicalIdsOfType(template, 'AWS::DynamoDB::Table')) {
    const schema = template.Resources[id]!.Properties?.KeySchema as { AttributeName: string; KeyType: string }[];
    const hash = schema.find((key) => key.KeyType === 'HASH');
    if (hash) keys.set(localPhysicalName(template, id), hash.AttributeName);
  }
  return keys;
}
