import { resolve } from 'node:path';
import { z } from 'zod';
import { parseSimulatorFaults } from '../simulator/faults.js';
import { parseMaxActiveTasks } from '../simulator/quota.js';

/** The knobs of the local stack, from the environment (see the README's table). */
export function localSettings(defaults: { timeScale: number; port: number }) {
  const env = z
    .object({
      PORT: z.coerce.number().int().min(0).max(65535).default(defaults.port),
      S3_PORT: z.coerce.number().int().min(0).max(65535).optional(),
      LOCAL_DATA_DIR: z.string().min(1).default('.local'),
      LOCAL_TIME_SCALE: z.coerce.number().positive().max(100).default(defaults.timeScale),
      PROVIDER_API_KEY: z.string().min(1).optional(),
      SIMULATOR_FAULTS: z.string().optional(),
      SIMULATOR_MAX_ACTIVE_TASKS: z.string().optional(),
    })
    .parse(process.env);
  return {
    port: env.PORT,
    // Next to the API's by default, so it is the same at every start (the aws CLI lines pasted from
    // npm start stay right) and two stacks on two PORTs do not collide; any free one with PORT=0.
    s3Port: env.S3_PORT ?? (env.PORT > 0 && env.PORT < 65535 ? env.PORT + 1 : 0),
    dataDir: resolve(env.LOCAL_DATA_DIR),
    timeScale: env.LOCAL_TIME_SCALE,
    ...(env.PROVIDER_API_KEY ? { providerApiKey: env.PROVIDER_API_KEY } : {}),
    ...(env.SIMULATOR_FAULTS ? { simulatorFaults: parseSimulatorFaults(env.SIMULATOR_FAULTS) } : {}),
    simulatorMaxActiveTasks: parseMaxActiveTasks(env.SIMULATOR_MAX_ACTIVE_TASKS),
  };
}
