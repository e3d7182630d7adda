import { join } from 'node:path';
import { parseSimulatorFaults, SimulatorFaultsError } from './faults.js';
import { parseMaxActiveTasks, SimulatorQuotaError } from './quota.js';
import { startProviderSimulator } from './server.js';

/** `npm run simulator`: the provider simulator on its own, for trying clients against it by hand. */

function numberFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number, got "${raw}"`);
  return value;
}

function faultsFromEnv() {
  try {
    return parseSimulatorFaults(process.env.SIMULATOR_FAULTS ?? '');
  } catch (error) {
    if (!(error instanceof SimulatorFaultsError)) throw error;
    console.error(`SIMULATOR_FAULTS: ${error.message}`);
    process.exit(2);
  }
}

function maxActiveTasksFromEnv(): number {
  try {
    return parseMaxActiveTasks(process.env.SIMULATOR_MAX_ACTIVE_TASKS);
  } catch (error) {
    if (!(error instanceof SimulatorQuotaError)) throw error;
    console.error(`SIMULATOR_MAX_ACTIVE_TASKS: ${error.message}`);
    process.exit(2);
  }
}

const apiKey = process.env.PROVIDER_API_KEY || 'local-provider-key';
const faults = faultsFromEnv();
const maxActiveTasks = maxActiveTasksFromEnv();
const simulator = await startProviderSimulator({
  apiKey,
  port: numberFromEnv('PORT', 4010),
  timeScale: numberFromEnv('LOCAL_TIME_SCALE', 1),
  dataDir: join(process.env.LOCAL_DATA_DIR || '.local', 'simulator'),
  faults,
  maxActiveTasks,
});
console.log(
  `Provider simulator ready at ${simulator.url} (key: ${apiKey}; at most ${maxActiveTasks} unfinished tasks, change it with PUT ${simulator.url}/_admin/quota)`,
);
const active = Object.entries(faults).filter(([key, value]) => key.endsWith('Rate') && value !== 0);
if (active.length > 0 || faults.createLatencyMs > 0 || faults.createLatencyJitterMs > 0 || faults.downloadLatencyMs > 0) {
  console.log(`Fault injection: ${JSON.stringify(faults)} (change it with PUT ${simulator.url}/_admin/faults)`);
}

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    // A second Ctrl-C while renders are being stopped should not wait any longer.
    if (stopping) process.exit(130);
    stopping = true;
    simulator.stop().then(
      () => console.log('Provider simulator stopped'),
      (error: unknown) => {
        console.error(error);
        process.exitCode = 1;
      },
    );
  });
}
