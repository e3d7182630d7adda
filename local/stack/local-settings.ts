import { resolve } from 'node:path';
import { z } from 'zod';
import { parseSimulatorFaults } from '../simulator/faults.js';
import { parseMaxActiveTasks } from '../simulator/quota.js';

/** The knobs of the local stack, from the environment (see the README's table). */
export function localSettings(defaults: { timeScale: number; port: number }) {
  const env = z
    .object({
      PORT: z.coerce.number().int().min(0).max(65535).default(defaults.port),
      LOCAL_DATA_DIR: z.string().min(1).default('.local'),
      LOCAL_TIME_SCALE: z.coerce.number().positive().max(100).default(defaults.timeScale),
      PROVIDER_API_KEY: z.string().min(1).optional(),
      SIMULATOR_FAULTS: z.string().optional(),
      SIMULATOR_MAX_ACTIVE_TASKS: z.string().optional(),
    })
    .parse(process.env);
  return {
    port: env.PORT,
    dataDir: resolve(env.LOCAL_DATA_DIR),
    timeScale: env.LOCAL_TIME_SCALE,
    ...(env.PROVIDER_API_KEY ? { providerApiKey: env.PROVIDER_API_KEY } : {}),
    ...(env.SIMULATOR_FAULTS ? { simulatorFaults: parseSimulatorFaults(env.SIMULATOR_FAULTS) } : {}),
    simulatorMaxActiveTasks: parseMaxActiveTasks(env.SIMULATOR_MAX_ACTIVE_TASKS),
  };
}
