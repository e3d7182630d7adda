import { readFileSync } from 'node:fs';

/**
 * The CDK feature flags of the stack: the `@aws-cdk...` keys of cdk.json's context. `cdk synth` reads
 * them from cdk.json itself; a synthesis in-process (the tests, the local stack) takes them from
 * here, so it builds the template `cdk deploy` ships.
 */
export function featureFlags(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(new URL('../cdk.json', import.meta.url), 'utf8')) as { context?: Record<string, unknown> };
  return Object.fromEntries(Object.entries(cdkJson.context ?? {}).filter(([key]) => key.startsWith('@aws-cdk')));
}
