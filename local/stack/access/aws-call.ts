/**
 * One AWS call as IAM judges it: the action, the resource ARN, and the condition keys the request
 * carries. A request may be several calls (a copy reads its source and writes its target).
 */
export interface AwsCall {
  action: string;
  resource: string;
  context: Record<string, string | string[]>;
}

/**
 * The access key a request was signed with: SigV4's `Credential=<key>/…` in the Authorization header,
 * or `X-Amz-Credential` for a presigned URL (IAM judges such a request as a call of the signer).
 */
export function accessKeyIdOf(authorization: string | undefined, query: URLSearchParams): string | undefined {
  const signed = /Credential=([^/,\s]+)\//.exec(authorization ?? '')?.[1];
  return signed ?? query.get('X-Amz-Credential')?.split('/')[0];
}
