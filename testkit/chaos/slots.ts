/** The admission slots, sampled all through the run: never more held than the cap, none left held at the end. */
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createSlots } from '../../runtime/admission/admission-slots.js';
import type { ChaosStack } from './stack.js';

export interface SlotSampler {
  /** Stops sampling: how many samples were taken and the most slots any held. */
  stop(): Promise<{ count: number; maxHeld: number }>;
  /** The jobs holding a slot now. */
  holders(): Promise<string[]>;
}

/** Reads the slots every 100 ms until stopped. */
export function sampleSlots({ stack, config }: ChaosStack): SlotSampler {
  const slots = createSlots(
    DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: stack.environment.AWS_ENDPOINT_URL_DYNAMODB })),
    stack.environment.ADMISSION_TABLE!,
    config.maxJobsInFlight,
  );
  const samples = { count: 0, maxHeld: 0 };
  let stopped = false;
  const sampler = (async () => {
    while (!stopped) {
      samples.maxHeld = Math.max(samples.maxHeld, Object.keys((await slots.read()).holders).length);
      samples.count += 1;
      await sleep(100);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await sampler;
      return samples;
    },
    holders: async () => Object.keys((await slots.read()).holders),
  };
}
