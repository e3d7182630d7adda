import { rmSync } from 'node:fs';
import { consoleAssets } from '../../console/build.js';
import { CdkContextError, startContextFromArgs } from '../stack/cdk-context.js';
import { startLocalStack } from '../stack/local-stack.js';
import { localSettings } from '../stack/local-settings.js';
import { writeStackFile } from '../stack/stack-file.js';

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
const stackFile = writeStackFile(settings.dataDir, { apiUrl: stack.apiUrl, s3Url: stack.s3Url, bucket: stack.bucket, environment: stack.environment });
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
