import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SLOTS_ITEM } from '../../contracts/tables.js';
import { afterCreated, afterRefused, initialLimit, slotsAllowed, type LearnedLimit } from './admission-limit.js';

/**
 * The slots of the provider: one item of the Admission table, holding every job that holds a slot
 * (a map job id → holder) and the learned limit. One item, so that taking a slot is one conditional
 * write that sees every other holder: `size(holders) < limit` is checked and the holder added in the
 * same write, whatever fires at the same moment. A holder names the execution it was taken for, so
 * the end of an older execution of the same job can never give back a newer one's slot.
 */

export interface SlotHolder {
  /** The execution that runs the job under this slot. */
  execution: string;
  /** When the slot was taken. */
  at: string;
  /** When the provider accepted the job's task: from then on the provider counts it too. */
  task?: string;
}

export interface SlotsState {
  holders: Record<string, SlotHolder>;
  limit: LearnedLimit;
  /** Whole slots the learned limit and the configured maximum allow now. */
  allowed: number;
}

export type AcquireOutcome = 'acquired' | 'already-held' | 'full';

export interface Slots {
  read(): Promise<SlotsState>;
  /** Takes a slot for the job's execution, only while fewer than the allowed number are held. */
  acquire(jobId: string, execution: string, at: Date): Promise<AcquireOutcome>;
  /** Gives the job's slot back, only if it is held (for `execution`, when given). False if it was not. */
  release(jobId: string, execution?: string): Promise<boolean>;
  /** Moves a held slot to another execution of the same job (the sweeper's resume). False if not held. */
  transfer(jobId: string, execution: string): Promise<boolean>;
  /** The provider accepted the job's task: it counts as the provider's, and the limit grows. */
  recordCreated(jobId: string, at: Date): Promise<void>;
  /** The provider refused a create for its limit: the limit comes down to what it holds of ours. */
  recordRefused(): Promise<LearnedLimit>;
}

interface SlotsItem {
  name: typeof SLOTS_ITEM;
  holders: Record<string, SlotHolder>;
  cap: number;
  threshold: number;
  /** floor(cap): what `size(holders)` is compared with when a slot is taken. */
  limit: number;
}

/** A conditional write that lost to another writer: re-read and try again, a few times. */
const OPTIMISTIC_ATTEMPTS = 5;

export function createSlots(db: DynamoDBDocumentClient, tableName: string, maxJobsInFlight: number): Slots {
  const key = { name: SLOTS_ITEM };

  async function readItem(): Promise<SlotsItem> {
    const { Item } = await db.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }));
    if (Item) return Item as SlotsItem;
    const { cap, threshold } = initialLimit(maxJobsInFlight);
    const fresh: SlotsItem = { name: SLOTS_ITEM, holders: {}, cap, threshold, limit: slotsAllowed({ cap, threshold }, maxJobsInFlight) };
    try {
      await db.send(
        new PutCommand({
          TableName: tableName,
          Item: fresh,
          ConditionExpression: 'attribute_not_exists(#name)',
          ExpressionAttributeNames: { '#name': 'name' },
        }),
      );
      return fresh;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return readItem();
    }
  }

  async function conditional(update: Omit<ConstructorParameters<typeof UpdateCommand>[0], 'TableName' | 'Key'>): Promise<boolean> {
    try {
      await db.send(new UpdateCommand({ TableName: tableName, Key: key, ...update }));
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Replaces the learned limit computed from a fresh read, unless another writer changed it meanwhile. */
  async function updateLimit(
    next: (
      item: SlotsItem,
    ) => { limit: LearnedLimit; extra?: { set: string; names: Record<string, string>; values: Record<string, unknown>; condition: string } } | undefined,
  ): Promise<LearnedLimit> {
    for (let attempt = 1; ; attempt += 1) {
      const item = await readItem();
      const change = next(item);
      if (!change) return { cap: item.cap, threshold: item.threshold };
      const written = await conditional({
        UpdateExpression: `SET cap = :cap, threshold = :threshold, #limit = :limit${change.extra ? `, ${change.extra.set}` : ''}`,
        ConditionExpression: `cap = :seen${change.extra ? ` AND ${change.extra.condition}` : ''}`,
        ExpressionAttributeNames: { '#limit': 'limit', ...change.extra?.names },
        ExpressionAttributeValues: {
          ':cap': change.limit.cap,
          ':threshold': change.limit.threshold,
          ':limit': slotsAllowed(change.limit, maxJobsInFlight),
          ':seen': item.cap,
          ...change.extra?.values,
        },
      });
      if (written || attempt >= OPTIMISTIC_ATTEMPTS) return change.limit;
    }
  }

  const tasksAtProvider = (item: SlotsItem) => Object.values(item.holders).filter((holder) => holder.task !== undefined).length;

  return {
    async read() {
      const item = await readItem();
      const limit = { cap: item.cap, threshold: item.threshold };
      return { holders: item.holders, limit, allowed: slotsAllowed(limit, maxJobsInFlight) };
    },

    async acquire(jobId, execution, at) {
      const holder: SlotHolder = { execution, at: at.toISOString() };
      // Twice at most: the first attempt may meet no item yet (the first job ever), which the read creates.
      for (let attempt = 1; ; attempt += 1) {
        const taken = await conditional({
          UpdateExpression: 'SET holders.#job = :holder',
          // The configured maximum too: a limit learned under a larger one (before a redeploy lowered it) is not trusted.
          ConditionExpression: 'size(holders) < #limit AND size(holders) < :max AND attribute_not_exists(holders.#job)',
          ExpressionAttributeNames: { '#job': jobId, '#limit': 'limit' },
          ExpressionAttributeValues: { ':holder': holder, ':max': maxJobsInFlight },
        });
        if (taken) return 'acquired';
        const item = await readItem();
        if (item.holders[jobId]) return 'already-held';
        if (attempt >= 2 || Object.keys(item.holders).length >= Math.min(item.limit, maxJobsInFlight)) return 'full';
      }
    },

    async release(jobId, execution) {
      return conditional({
        UpdateExpression: 'REMOVE holders.#job',
        ConditionExpression: execution === undefined ? 'attribute_exists(holders.#job)' : 'holders.#job.execution = :execution',
        ExpressionAttributeNames: { '#job': jobId },
        ...(execution === undefined ? {} : { ExpressionAttributeValues: { ':execution': execution } }),
      });
    },

    async transfer(jobId, execution) {
      return conditional({
        UpdateExpression: 'SET holders.#job.execution = :execution',
        ConditionExpression: 'attribute_exists(holders.#job)',
        ExpressionAttributeNames: { '#job': jobId },
        ExpressionAttributeValues: { ':execution': execution },
      });
    },

    async recordCreated(jobId, at) {
      await updateLimit((item) => {
        const holder = item.holders[jobId];
        if (!holder) return undefined;
        const counted = tasksAtProvider(item) + (holder.task === undefined ? 1 : 0);
        return {
          limit: afterCreated({ cap: item.cap, threshold: item.threshold }, counted, maxJobsInFlight),
          extra: {
            set: 'holders.#job.task = :task',
            names: { '#job': jobId },
            values: { ':task': at.toISOString() },
            condition: 'attribute_exists(holders.#job)',
          },
        };
      });
    },

    async recordRefused() {
      return updateLimit((item) => ({ limit: afterRefused({ cap: item.cap, threshold: item.threshold }, tasksAtProvider(item)) }));
    },
  };
}
