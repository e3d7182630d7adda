import { consoleAssets } from '../../console/build.js';
import { CdkContextError, startContextFromArgs } from '../stack/cdk-context.js';
import { startLocalStack } from '../stack/local-stack.js';
import { localSettings } from '../stack/local-settings.js';
import { assertPortFree, PortBusyError } from '../stack/port-check.js';
import { claimDataDir, DataDirBusyError } from '../stack/stack-file.js';
import { LOCAL_REGION } from '../stack/template-resolver.js';

const USAGE = `usage: npm start [-- -c key=value ...]
  Runs the whole pipeline on this machine until Ctrl-C: the API and console on PORT (3000), the local S3
  on S3_PORT (PORT + 1), data in LOCAL_DATA_DIR (.local). -c sets CDK context as cdk deploy -c does.
  One stack per data directory: npm run generate, npm run batch and video-pipeline use the running one.
  Every setting: docs/local-stack.md.`;

/** A refusal before anything started: one line on stderr, and the exit code. */
function stop(message: string, code: number): never {
  console.error(message);
  process.exit(code);
}

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
let context: Record<string, unknown>;
try {
  context = startContextFromArgs(args);
} catch (error) {
  if (!(error instanceof CdkContextError)) throw error;
  stop(error.message, 2);
}
const settings = localSettings({ timeScale: 1, port: 3000 });
// Claimed first: a second npm start on this data directory must stop before it opens the first one's files.
const claim = await claimDataDir(settings.dataDir, 'npm start').catch((error: unknown) => {
  if (error instanceof DataDirBusyError) stop(`npm start: ${error.message}`, 1);
  throw error;
});
try {
  await assertPortFree(settings.port, 'PORT');
  await assertPortFree(settings.s3Port, 'S3_PORT');
} catch (error) {
  await claim.release();
  if (error instanceof PortBusyError) stop(`npm start: ${error.message}`, 1);
  throw error;
}
const stack = await startLocalStack({ ...settings, context, schedules: true }).catch(async (error: unknown) => {
  await claim.release();
  // Taken between the check and the listen: still one line.
  if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') stop(`npm start: ${(error as Error).message}`, 1);
  throw error;
});
// Other commands (generate, batch, the CLI) find the running stack, and run handlers against it, through stack.json.
await claim.ready({ apiUrl: stack.apiUrl, s3Url: stack.s3Url, bucket: stack.bucket, environment: stack.environment });
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
// The aws CLI reads AWS_DEFAULT_REGION, the SDKs AWS_REGION; AWS_ENDPOINT_URL_S3 points both at the local S3.
console.log('For the aws CLI, paste into another terminal:');
console.log(`export AWS_ENDPOINT_URL_S3=${stack.s3Url} AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER`);
console.log(`export AWS_REGION=${LOCAL_REGION} AWS_DEFAULT_REGION=${LOCAL_REGION} BUCKET=${stack.bucket}`);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: stopping the local stack`);
  await claim.release();
  await stack.stop();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
