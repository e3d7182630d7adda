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

/** 'not-held': the giver holds no slot for that execution; 'taken': the taker holds one already; 'full': more are held than the limit allows now. */
export type HandOverOutcome = 'handed' | 'not-held' | 'taken' | 'full';

export interface Slots {
  read(): Promise<SlotsState>;
  /** Takes a slot for the job's execution, only while fewer than the allowed number are held. */
  acquire(jobId: string, execution: string, at: Date): Promise<AcquireOutcome>;
  /** Gives the job's slot back, only if it is held (for `execution`, when given). False if it was not. */
  release(jobId: string, execution?: string): Promise<boolean>;
  /**
   * Gives the job's slot, held for `execution`, straight to another job in one write: the count does
   * not change, so a slot freed while jobs wait passes on without racing every other dispatcher for it.
   */
  handOver(jobId: string, execution: string, to: { jobId: string; execution: string; at: Date }): Promise<HandOverOutcome>;
  /** Moves a held slot to another execution of the same job (the sweeper's resume). False if not held. */
  transfer(jobId: string, execution: string): Promise<boolean>;
  /** The provider accepted the job's task: it counts as the provider's, and the limit grows. */
  recordCreated(jobId: string, at: Date): Promise<void>;
  /** The provider refused the job's create for its limit: the limit comes down to what it holds of ours, once per episode. */
  recordRefused(jobId: string, at: Date): Promise<LearnedLimit>;
}

interface SlotsItem {
  name: typeof SLOTS_ITEM;
  holders: Record<string, SlotHolder>;
  cap: number;
  threshold: number;
  /** floor(cap): what `size(holders)` is compared with when a slot is taken. */
  limit: number;
  decreasedAt?: number;
}

const limitOf = (item: SlotsItem): LearnedLimit => ({
  cap: item.cap,
  threshold: item.threshold,
  ...(item.decreasedAt === undefined ? {} : { decreasedAt: item.decreasedAt }),
});

const sameLimit = (a: LearnedLimit, b: LearnedLimit) => a.cap === b.cap && a.threshold === b.threshold && a.decreasedAt === b.decreasedAt;

/** A conditional write that lost to another writer: re-read and try again, a few times. */
const OPTIMISTIC_ATTEMPTS = 5;

export function createSlots(db: DynamoDBDocumentClient, tableName: string, maxJobsInFlight: number, random: () => number = Math.random): Slots {
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

  /**
   * Replaces the learned limit computed from the item (`seen`, else a fresh read), unless another
   * writer changed the limit meanwhile; then again from a fresh read, a few times. A limit update
   * that loses every time is dropped: the next create or refusal computes it again.
   */
  async function updateLimit(next: (item: SlotsItem) => LearnedLimit | undefined, seen?: SlotsItem): Promise<LearnedLimit> {
    for (let attempt = 1; ; attempt += 1) {
      const item = attempt === 1 && seen ? seen : await readItem();
      const current = limitOf(item);
      const limit = next(item);
      if (!limit || sameLimit(limit, current)) return current;
      const written = await conditional({
        UpdateExpression: `SET cap = :cap, threshold = :threshold, #limit = :limit${limit.decreasedAt === undefined ? '' : ', decreasedAt = :decreasedAt'}`,
        ConditionExpression: `cap = :seen AND ${item.decreasedAt === undefined ? 'attribute_not_exists(decreasedAt)' : 'decreasedAt = :seenDecreasedAt'}`,
        ExpressionAttributeNames: { '#limit': 'limit' },
        ExpressionAttributeValues: {
          ':cap': limit.cap,
          ':threshold': limit.threshold,
          ':limit': slotsAllowed(limit, maxJobsInFlight),
          ':seen': item.cap,
          ...(limit.decreasedAt === undefined ? {} : { ':decreasedAt': limit.decreasedAt }),
          ...(item.decreasedAt === undefined ? {} : { ':seenDecreasedAt': item.decreasedAt }),
        },
      });
      if (written || attempt >= OPTIMISTIC_ATTEMPTS) return limit;
    }
  }

  const tasksAtProvider = (item: SlotsItem) => Object.values(item.holders).filter((holder) => holder.task !== undefined).length;

  return {
    async read() {
      const item = await readItem();
      const limit = limitOf(item);
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

    async handOver(jobId, execution, to) {
      const handed = await conditional({
        UpdateExpression: 'REMOVE holders.#from SET holders.#to = :holder',
        // No more than the limit allows: a limit that came down since this slot was taken takes it back.
        ConditionExpression: 'holders.#from.execution = :execution AND attribute_not_exists(holders.#to) AND size(holders) <= #limit AND size(holders) <= :max',
        ExpressionAttributeNames: { '#from': jobId, '#to': to.jobId, '#limit': 'limit' },
        ExpressionAttributeValues: { ':execution': execution, ':holder': { execution: to.execution, at: to.at.toISOString() }, ':max': maxJobsInFlight },
      });
      if (handed) return 'handed';
      const item = await readItem();
      if (item.holders[jobId]?.execution !== execution) return 'not-held';
      return item.holders[to.jobId] ? 'taken' : 'full';
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
      // The task is a fact, written on its own so that it always lands: the count of our tasks at
      // the provider, which every later refusal measures the limit by, must not lag behind it.
      let marked: SlotsItem;
      try {
        const { Attributes } = await db.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key,
            UpdateExpression: 'SET holders.#job.task = :task',
            ConditionExpression: 'attribute_exists(holders.#job)',
            ExpressionAttributeNames: { '#job': jobId },
            ExpressionAttributeValues: { ':task': at.toISOString() },
            ReturnValues: 'ALL_NEW',
          }),
        );
        marked = Attributes as SlotsItem;
      } catch (error) {
        // Its slot was given back meanwhile (a cancel): the provider still counts the task, the limit absorbs it.
        if (error instanceof ConditionalCheckFailedException) return;
        throw error;
      }
      const draw = random();
      await updateLimit((item) => afterCreated(limitOf(item), tasksAtProvider(item), maxJobsInFlight, draw), marked);
    },

    async recordRefused(jobId, at) {
      return updateLimit((item) => {
        const holder = item.holders[jobId];
        return afterRefused(limitOf(item), {
          tasksAtProvider: tasksAtProvider(item),
          ...(holder ? { admittedAt: Date.parse(holder.at) } : {}),
          at: at.getTime(),
        });
      });
    },
  };
}
