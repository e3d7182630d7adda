import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';

/**
 * Exact S3 grants. CDK's `grantRead` / `grantPut` / `grantDelete` hand out action families
 * (`s3:GetObject*`, `s3:List*` on the whole bucket, `s3:Abort*`, `s3:DeleteObject*`, legal holds and
 * retention...); each function here gets the few object actions its code calls, on its prefixes only.
 */
export type ObjectAction =
  | 's3:GetObject' // GetObject and HeadObject; the source of a CopyObject; a DeleteObject with If-Match
  | 's3:GetObjectTagging' // the source of a CopyObject (tags are copied by default)
  | 's3:GetObjectVersion' // the same, of a version named by its id
  | 's3:GetObjectVersionTagging'
  | 's3:PutObject' // PutObject, CopyObject's target, and every step of a multipart upload
  | 's3:PutObjectTagging' // the target of a CopyObject that copies tags
  | 's3:AbortMultipartUpload'
  | 's3:DeleteObject'
  | 's3:DeleteObjectVersion'; // a DeleteObject naming a version id

/** Grants `actions` on the objects under each prefix (`requests/`), or on every object with `*`. */
export function grantObjects(bucket: IBucket, grantee: IGrantable, actions: ObjectAction[], ...prefixes: string[]): Grant {
  return Grant.addToPrincipal({
    grantee,
    actions,
    resourceArns: prefixes.map((prefix) => bucket.arnForObjects(prefix === '*' ? '*' : `${prefix}*`)),
  });
}

/**
 * `s3:ListBucket` on the bucket, optionally only for listings under a prefix. Besides listing, it is
 * what makes S3 answer 404 (not 403) for a key that does not exist.
 */
export function grantList(bucket: IBucket, grantee: IGrantable, prefix?: string): Grant {
  return Grant.addToPrincipal({
    grantee,
    actions: ['s3:ListBucket'],
    resourceArns: [bucket.bucketArn],
    ...(prefix ? { conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } } } : {}),
  });
}
