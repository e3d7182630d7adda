import { resolve } from 'node:path';
import { busEvent } from '../emulators/eventbridge/eventbridge-events.js';
import { readStackFile, StackNotRunningError } from '../stack/stack-file.js';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../stack/template-resolver.js';

/**
 * `npm run batch`: one run of the batch function now, against the stack `npm start` is running, instead
 * of waiting for its schedule. The handler runs in this process with the stack's environment, so it
 * talks to the same DynamoDB, S3 and Step Functions endpoint as the scheduled runs do.
 */

async function main(): Promise<void> {
  const dataDir = resolve(process.env.LOCAL_DATA_DIR || '.local');
  const stack = await readStackFile(dataDir);
  try {
    await fetch(stack.s3Url, { signal: AbortSignal.timeout(2000) });
  } catch {
    throw new StackNotRunningError(`the local stack in ${dataDir}/stack.json does not answer at ${stack.s3Url}: start it with npm start`);
  }
  // Handlers read their settings at import: the environment goes in first.
  Object.assign(process.env, stack.environment);
  const { handler } = (await import('../../runtime/handlers/batch-runner.js')) as { handler: (event: unknown) => Promise<unknown> };
  const event = busEvent({
    source: 'aws.events',
    detailType: 'Scheduled Event',
    resources: [`arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:rule/npm-run-batch`],
    detail: {},
  });
  console.log(JSON.stringify(await handler(event), null, 2));
}

try {
  await main();
  process.exit(0);
} catch (error) {
  console.error(error instanceof StackNotRunningError ? error.message : error);
  process.exit(1);
}
