import { createDocumentClient } from './aws-clients.js';
import { createSlots, type Slots } from '../admission/admission-slots.js';
import { positiveIntegerSetting, readEnv, requiredSetting } from './env.js';
import * as z from '../domain/zod.js';

/** The settings of every function that takes, gives back or learns from the admission slots. */
const admissionEnvSchema = z.object({ ADMISSION_TABLE: requiredSetting, MAX_JOBS_IN_FLIGHT: positiveIntegerSetting });

/** Built once per cold start from the environment. */
export function slotsFromEnv(): Slots {
  const env = readEnv(admissionEnvSchema);
  return createSlots(createDocumentClient(), env.ADMISSION_TABLE, env.MAX_JOBS_IN_FLIGHT);
}
