import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { consoleAssets } from '../../console/build.js';
import { CdkContextError, startContextFromArgs } from '../stack/cdk-context.js';
import { startLocalStack } from '../stack/local-stack.js';
import { localSettings } from '../stack/local-settings.js';
import { STACK_FILE, type StackFile } from '../stack/stack-file.js';

function contextFromCommandLine(): Record<string, unknown> {
  try {
    return startContextFromArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof CdkContextError)) throw error;
    console.error(error.message);
    process.exit(2);
  }
}

const context = contextFromCommandLine();
const settings = localSettings({ timeScale: 1, port: 3000 });
const stack = await startLocalStack({ ...settings, context, schedules: true });
// Other commands (npm run batch) find the running stack, and run handlers against it, through this file.
const stackFile = join(settings.dataDir, STACK_FILE);
const description: StackFile = { apiUrl: stack.apiUrl, s3Url: stack.s3Url, bucket: stack.bucket, environment: stack.environment };
writeFileSync(stackFile, `${JSON.stringify(description, null, 2)}\n`);
console.log(`API ready at ${stack.apiUrl}`);
// Built now rather than on the first page load, so a broken build shows here and the first load is quick.
await consoleAssets();
console.log(`Console at ${stack.apiUrl}/`);
const { started, resumed, ended } = stack.recovered;
if (started.length + resumed.length + ended.length > 0) {
  console.log(`Recovered jobs left in flight: ${resumed.length} resumed, ${started.length} started, ${ended.length} ended`);
}
console.log(`S3 ready at ${stack.s3Url} bucket ${stack.bucket} (credentials S3RVER/S3RVER, path-style)`);
console.log(`Provider simulator at ${stack.simulator.url}; time scale ${settings.timeScale}; data in ${settings.dataDir}`);
console.log(`Completion events appended to ${stack.eventsFile}`);
console.log('Webhooks are signed with the secret `npx video-pipeline webhook-secret` prints (README, Webhooks)');

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: stopping the local stack`);
  rmSync(stackFile, { force: true });
  await stack.stop();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
