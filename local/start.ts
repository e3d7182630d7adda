import { startLocalStack } from './local-stack.js';
import { localSettings } from './local-settings.js';

const settings = localSettings({ timeScale: 1, port: 3000 });
const stack = await startLocalStack(settings);
console.log(`API ready at ${stack.apiUrl}`);
console.log(`S3 ready at ${stack.s3Url} bucket ${stack.bucket} (credentials S3RVER/S3RVER, path-style)`);
console.log(`Provider simulator at ${stack.simulator.url}; time scale ${settings.timeScale}; data in ${settings.dataDir}`);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: stopping the local stack`);
  await stack.stop();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
