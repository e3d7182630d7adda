import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { BusEvent } from './eventbridge-events.js';

/**
 * Every event published with PutEvents, kept so a user (`tail -f .local/events.jsonl`) and the tests
 * can see what the pipeline announced. The file is appended to, not truncated: like the S3 objects in
 * the same folder it outlives a restart. Each line is written before PutEvents answers, so whoever
 * saw the call succeed finds the line.
 */

export interface EventLog {
  readonly file: string;
  append(event: BusEvent): void;
  /** The events of this run, oldest first. */
  events(): BusEvent[];
}

export function createEventLog(file: string): EventLog {
  mkdirSync(dirname(file), { recursive: true });
  const published: BusEvent[] = [];
  return {
    file,
    append(event) {
      appendFileSync(file, `${JSON.stringify(event)}\n`);
      published.push(event);
    },
    events: () => structuredClone(published),
  };
}
