import { mkdir, realpath, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * What the Lambda Node.js runtime provides besides Node: the AWS SDK for JavaScript v3, every
 * `@aws-sdk/*` package with the `@smithy/*` packages it is built on. The bundles leave exactly those
 * out (NodejsFunction's default externals for Node ≥ 18, and `@smithy/*` with cdk.json's
 * `@aws-cdk/aws-lambda-nodejs:sdkV3ExcludeSmithyPackages`), and count on the runtime's copy.
 *
 * `<root>/node_modules` gets those two scopes and nothing else (links to this project's copies, the
 * versions package-lock.json pins, which may be newer than the runtime's), so a bundle under `<root>`
 * resolves the SDK and fails on any other package it did not bundle, as it would on Lambda. The SDK's
 * own dependencies resolve from where its packages really are.
 */
export const RUNTIME_SCOPES = ['@aws-sdk', '@smithy'] as const;

export async function provideRuntimeModules(root: string): Promise<void> {
  const modules = join(root, 'node_modules');
  await mkdir(modules, { recursive: true });
  const require = createRequire(import.meta.url);
  for (const scope of RUNTIME_SCOPES) {
    // Any package of the scope finds the folder: client-s3 for the SDK, core for Smithy.
    const anyPackage = scope === '@aws-sdk' ? '@aws-sdk/client-s3' : '@smithy/core';
    const scopeFolder = dirname(dirname(await realpath(require.resolve(`${anyPackage}/package.json`))));
    await symlink(scopeFolder, join(modules, scope), 'dir');
  }
}
