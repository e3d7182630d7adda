/** The batch function run every config.batchIntervalMs, as its schedule would, until every manifest of the run is done. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { BatchReport } from '../../runtime/triggers/batch-runner.js';
import { scheduledEvent } from '../../local/emulators/eventbridge/schedules.js';
import type { ChaosStack } from './stack.js';

export interface BatchLoop {
  stats: { runs: number; errors: string[]; startedFromManifests: number };
  manifestsDone: Set<string>;
  /** Ends the loop after the run in progress. */
  stop(): Promise<void>;
}

export function startBatchLoop({ stack, config }: ChaosStack, manifests: { key: string }[]): BatchLoop {
  const stats = { runs: 0, errors: [] as string[], startedFromManifests: 0 };
  const manifestsDone = new Set<string>();
  let stopped = false;
  const loop = (async () => {
    while (!stopped && manifestsDone.size < manifests.length) {
      try {
        const report = (await stack.invokeFunction('batch-runner', scheduledEvent('arn:aws:events:us-east-1:000000000000:rule/chaos-batch'))) as BatchReport;
        stats.runs += 1;
        stats.startedFromManifests += report.queuedFromManifests;
        const reported = new Set(report.manifests.map((manifest) => manifest.key));
        for (const manifest of report.manifests) if (manifest.done) manifestsDone.add(manifest.key);
        // A done manifest is no longer reported: one of ours missing from the report is done.
        for (const { key } of manifests) if (!reported.has(key)) manifestsDone.add(key);
      } catch (error) {
        stats.errors.push((error as Error).message);
      }
      await sleep(config.batchIntervalMs);
    }
  })();
  return {
    stats,
    manifestsDone,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
