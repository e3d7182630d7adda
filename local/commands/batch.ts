import { busEvent } from '../emulators/eventbridge/eventbridge-events.js';
import { findRunningStack } from '../stack/find-stack.js';
import { StackNotRunningError } from '../stack/stack-file.js';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../stack/template-resolver.js';

/**
 * `npm run batch`: one run of the batch function now, against the stack `npm start` is running, instead
 * of waiting for its schedule. The handler runs in this process with the stack's environment, so it
 * talks to the same DynamoDB, S3 and Step Functions endpoint as the scheduled runs do.
 */

const USAGE = `usage: npm run batch
  Runs the batch function once now against the running npm start (found on LOCAL_DATA_DIR, or on PORT
  when LOCAL_DATA_DIR is not set) and prints its report: manifests under batches/ and jobs posted with
  ?schedule=batch join the admission line. To upload a manifest and run it: video-pipeline batch <file>.`;

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  if (args.length > 0) {
    console.error(`npm run batch takes no arguments (got ${args.join(' ')})\n${USAGE}`);
    return 2;
  }
  const stack = await findRunningStack();
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
  return 0;
}

try {
  process.exit(await main());
} catch (error) {
  console.error(error instanceof StackNotRunningError ? `npm run batch: ${error.message}: start it with npm start` : error);
  process.exit(1);
}
