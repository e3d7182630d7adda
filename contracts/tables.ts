/**
 * The layout of the DynamoDB tables: the keys infrastructure creates them with and runtime reads and
 * writes them by.
 */

/** A global secondary index: its name and key attributes (string-typed). */
export interface IndexLayout {
  name: string;
  partitionKey: string;
  sortKey: string;
}

/** The Jobs table: one item per job, keyed by `jobId`, beside the generation-history items. */
export const JOBS_TABLE = {
  partitionKey: 'jobId',
  indexes: {
    /** Listing jobs of one status, newest first. */
    byStatus: { name: 'byStatus', partitionKey: 'status', sortKey: 'createdAt' },
    /** Listing every job, newest first: each job item carries the same `kind`. */
    byCreatedAt: { name: 'byCreatedAt', partitionKey: 'kind', sortKey: 'createdAt' },
    /** The admission line: a sparse index of the waiting jobs only (`inLine`), in line order (`lineKey`). */
    byLine: { name: 'byLine', partitionKey: 'inLine', sortKey: 'lineKey' },
  },
} as const satisfies { partitionKey: string; indexes: Record<string, IndexLayout> };

/**
 * The generation-time history per request shape lives in the Jobs table under keys with this prefix
 * (one item per shape; it has none of the job items' index keys, so no index or job listing sees it).
 */
export const HISTORY_KEY_PREFIX = 'generation-history#';

/** The Admission table: one item, the provider's slots, keyed by `name`. */
export const ADMISSION_TABLE = { partitionKey: 'name' } as const;
/** The name of the Admission table's one item. */
export const SLOTS_ITEM = 'slots';

/** The batch manifests' progress: one item per version of a manifest (`<key>#<etag>`). */
export const MANIFESTS_TABLE = { partitionKey: 'manifestId' } as const;

/**
 * The API tokens of the drop-in provider API: one item per token, keyed by its public id. The secret
 * is never stored, only its SHA-256 (runtime/auth/api-token.ts).
 */
export const TOKENS_TABLE = { partitionKey: 'tokenId' } as const;
