import { createDocumentClient } from './aws-clients.js';
import { createSlots, type Slots } from '../admission/admission-slots.js';

/** The slots of a function that takes, gives back or learns from them, from its settings. */
export function slotsFrom(env: { ADMISSION_TABLE: string; MAX_JOBS_IN_FLIGHT: number }): Slots {
  return createSlots(createDocumentClient(), env.ADMISSION_TABLE, env.MAX_JOBS_IN_FLIGHT);
}
