import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, paginateQuery, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConflictError, ValidationError } from '../domain/errors.js';
import { HISTORY_KEY_PREFIX, JOBS_TABLE } from '../../contracts/tables.js';
import { frontOfLine, WAITING } from '../admission/admission-line.js';
import { ACTIVE_STATUSES, JOB_ID_PATTERN, JOB_KIND, type JobError, type JobRecord, type JobStatus, type TriggerType } from '../domain/job.js';
import * as z from '../domain/zod.js';

const STATUS_INDEX = JOBS_TABLE.indexes.byStatus.name;
const CREATED_INDEX = JOBS_TABLE.indexes.byCreatedAt.name;
const LINE_INDEX = JOBS_TABLE.indexes.byLine.name;
/** How many reruns a job lists (`reruns`); the reruns past it still name it in their `rerunOf`. */
export const MAX_RERUNS_LISTED = 100;
/** Counting the jobs ahead of one stops here: past it the answer is "at least this many". */
export const MAX_COUNTED_AHEAD = 1000;

export interface JobListQuery {
  status?: JobStatus;
  trigger?: TriggerType;
  limit: number;
  /** The opaque `nextCursor` of the previous page. */
  cursor?: string;
}

export interface JobPage {
  jobs: JobRecord[];
  nextCursor?: string;
}

export interface JobRepository {
  /** Creates the job; a second create with the same id is a ConflictError, never an overwrite. */
  create(job: JobRecord): Promise<void>;
  get(jobId: string): Promise<JobRecord | undefined>;
  /**
   * The execution of the job's admission number `admission` has started: record it and its deadline.
   * The execution may already have moved the job on (RecordSubmitted), so this write does not check
   * the status; it does check that the job is still on that admission and out of the line. Undefined
   * when it is not: the execution has ended already (the provider refused its create) and the job went
   * back to the line, or on to another admission, which this record must not point away from.
   */
  markStarted(jobId: string, executionArn: string, deadlineAt: string, admission: number): Promise<JobRecord | undefined>;
  /**
   * Ends a job from outside its workflow (a failed start, a cancel, the sweeper), only if it is still
   * in one of `from` (default: any status that has not ended). Returns the ended job, or undefined if
   * it had moved on meanwhile: a terminal status is never overwritten.
   */
  endJob(
    jobId: string,
    end: {
      status: Extract<JobStatus, 'FAILED' | 'TIMED_OUT' | 'CANCELLED'>;
      error: JobError;
      at: Date;
      from?: readonly JobStatus[];
      /** Only while the job still names this execution (the sweeper ends what it saw lost, nothing newer). */
      executionArn?: string;
      /** Only while it waits in the admission line (a queue timeout must not end a job just admitted). */
      whileWaiting?: boolean;
    },
  ): Promise<JobRecord | undefined>;
  /** Jobs that have not ended (QUEUED, SUBMITTED, RUNNING), oldest first within each status. */
  listActive(): Promise<JobRecord[]>;
  /** Marks an announcement made (`announcedAt`, or `lateAnnouncedAt` for a late video), once. */
  markAnnounced(jobId: string, at: Date, marker?: 'announcedAt' | 'lateAnnouncedAt'): Promise<void>;
  /**
   * Claims resume number `attempt` of a job whose execution `lostExecutionArn` was lost: true only for
   * the one caller that finds the job still SUBMITTED or RUNNING on that execution and at attempt - 1.
   */
  claimResume(jobId: string, claim: { lostExecutionArn: string; attempt: number }): Promise<boolean>;
  /** Points the job at the execution of its claimed resume; false when the job ended meanwhile. */
  recordResumed(jobId: string, resumed: { executionArn: string; attempt: number }): Promise<boolean>;
  /** Newest first, by status and/or trigger type; QUEUED as the admission line, next to start first. */
  list(query: JobListQuery): Promise<JobPage>;
  /** The first `limit` waiting jobs, in line order. */
  nextInLine(limit: number): Promise<JobRecord[]>;
  /** How many waiting jobs are ahead of the line key, up to MAX_COUNTED_AHEAD. */
  countAhead(lineKey: string): Promise<number>;
  /**
   * The job took a slot: it leaves the line, as admission number `admission`, with its deadline from now.
   * Only from the line and only once per admission; undefined when it had left the line (cancelled,
   * timed out, or admitted by another dispatcher).
   */
  markAdmitted(jobId: string, admitted: { admission: number; admittedAt: string; deadlineAt: string }): Promise<JobRecord | undefined>;
  /**
   * Sends an admitted job that never reached the provider back to the front of the line (the provider
   * was busy, or its execution could not start). False when the job had moved on meanwhile.
   */
  returnToLine(jobId: string, returned: { admission: number; at: Date }): Promise<boolean>;
  /** Links a job to a job that runs it again; past MAX_RERUNS_LISTED links the list stops growing. */
  recordRerun(jobId: string, rerunJobId: string): Promise<void>;
  /** A deferred job joins the line (the batch run); false when it was no longer deferred. */
  joinLine(jobId: string, joined: { queuedAt: Date; lineKey: string }): Promise<boolean>;
  /** Jobs waiting for the batch function to put them in the line, oldest first. */
  listDeferred(): Promise<JobRecord[]>;
}

function encodeCursor(key: Record<string, unknown> | undefined): string | undefined {
  return key ? Buffer.from(JSON.stringify(key)).toString('base64url') : undefined;
}

/** JobListQuery is the query string of GET /jobs: its issues name the parameter as the intake does. */
const CURSOR_PATH = 'query.cursor';

const jobIdKey = z.string().check(z.regex(JOB_ID_PATTERN));
const createdAtKey = z.iso.datetime();

/**
 * A query's LastEvaluatedKey holds the table's key and the queried index's keys, nothing else
 * (contracts/tables.ts: jobId; byStatus: status + createdAt; byCreatedAt: kind + createdAt), and its
 * partition key is the one the query asked for. Anything else DynamoDB refuses with a
 * ValidationException, or, worse, pages through a listing other than the one the caller asked for.
 */
function startKeySchema(status: JobStatus | undefined) {
  if (status === 'QUEUED') return z.strictObject({ jobId: jobIdKey, inLine: z.literal(WAITING), lineKey: z.string().check(z.minLength(1), z.maxLength(256)) });
  return status
    ? z.strictObject({ jobId: jobIdKey, status: z.literal(status), createdAt: createdAtKey })
    : z.strictObject({ jobId: jobIdKey, kind: z.literal(JOB_KIND), createdAt: createdAtKey });
}

function notOurCursor(status: JobStatus | undefined): ValidationError {
  const listing = status ? `status=${status}` : 'no status';
  return new ValidationError([{ path: CURSOR_PATH, message: `is not a nextCursor this API returned for a listing with ${listing}` }]);
}

/** The key a cursor holds, or undefined when it holds none. */
function readCursor(cursor: string): unknown {
  // Buffer.from skips characters outside the base64url alphabet; a cursor we made has none.
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(cursor, 'base64url')));
  } catch {
    return undefined;
  }
}

function decodeCursor(cursor: string, status: JobStatus | undefined): Record<string, unknown> {
  const parsed = z.safeParse(startKeySchema(status), readCursor(cursor));
  if (!parsed.success) throw notOurCursor(status);
  return parsed.data;
}

/** DynamoDB's answer to a request it refuses as malformed; the SDK has no class of its own for it. */
function isValidationException(error: unknown): boolean {
  return error instanceof Error && error.name === 'ValidationException';
}

export function createJobRepository(documents: DynamoDBDocumentClient, tableName: string): JobRepository {
  /** Every job with one status, page after page (oldest first), optionally filtered. */
  async function* withStatus(
    status: JobStatus,
    options: { filter?: string; names?: Record<string, string>; values?: Record<string, unknown>; projection?: string } = {},
  ): AsyncGenerator<JobRecord> {
    const pages = paginateQuery(
      { client: documents },
      {
        TableName: tableName,
        IndexName: STATUS_INDEX,
        KeyConditionExpression: '#status = :status',
        ...(options.filter ? { FilterExpression: options.filter } : {}),
        ...(options.projection ? { ProjectionExpression: options.projection } : {}),
        ExpressionAttributeNames: { '#status': 'status', ...options.names },
        ExpressionAttributeValues: { ':status': status, ...options.values },
        ScanIndexForward: true,
      },
    );
    for await (const page of pages) yield* (page.Items ?? []) as JobRecord[];
  }

  /** An update whose condition may no longer hold: false then, since another writer moved the job. */
  async function conditionalUpdate(update: Omit<ConstructorParameters<typeof UpdateCommand>[0], 'TableName'>): Promise<boolean> {
    try {
      await documents.send(new UpdateCommand({ TableName: tableName, ...update }));
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** The same, answering the job as the update left it, or undefined when the condition did not hold. */
  async function conditionalUpdateReturning(
    update: Omit<ConstructorParameters<typeof UpdateCommand>[0], 'TableName' | 'ReturnValues'>,
  ): Promise<JobRecord | undefined> {
    try {
      const { Attributes } = await documents.send(new UpdateCommand({ TableName: tableName, ...update, ReturnValues: 'ALL_NEW' }));
      return Attributes as JobRecord;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  return {
    async create(job) {
      try {
        await documents.send(new PutCommand({ TableName: tableName, Item: job, ConditionExpression: 'attribute_not_exists(jobId)' }));
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) throw new ConflictError(`job ${job.jobId} already exists`);
        throw error;
      }
    },

    async get(jobId) {
      // The table also keeps the generation-time history, one item per request shape: not a job.
      if (jobId.startsWith(HISTORY_KEY_PREFIX)) return undefined;
      const answer = await documents.send(new GetCommand({ TableName: tableName, Key: { jobId }, ConsistentRead: true }));
      return answer.Item as JobRecord | undefined;
    },

    async nextInLine(limit) {
      const { Items } = await documents.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: LINE_INDEX,
          KeyConditionExpression: '#inLine = :waiting',
          ExpressionAttributeNames: { '#inLine': 'inLine' },
          ExpressionAttributeValues: { ':waiting': WAITING },
          ScanIndexForward: true,
          Limit: limit,
        }),
      );
      return (Items ?? []) as JobRecord[];
    },

    async countAhead(lineKey) {
      let counted = 0;
      let start: Record<string, unknown> | undefined;
      do {
        const answer = await documents.send(
          new QueryCommand({
            TableName: tableName,
            IndexName: LINE_INDEX,
            KeyConditionExpression: '#inLine = :waiting AND lineKey < :key',
            ExpressionAttributeNames: { '#inLine': 'inLine' },
            ExpressionAttributeValues: { ':waiting': WAITING, ':key': lineKey },
            Select: 'COUNT',
            Limit: MAX_COUNTED_AHEAD - counted,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        counted += answer.Count ?? 0;
        start = answer.LastEvaluatedKey;
      } while (start && counted < MAX_COUNTED_AHEAD);
      return counted;
    },

    async markAdmitted(jobId, admitted) {
      return conditionalUpdateReturning({
        Key: { jobId },
        UpdateExpression: 'SET admissions = :admission, admittedAt = :at, deadlineAt = :deadline, updatedAt = :at REMOVE #inLine, executionArn',
        ConditionExpression:
          '#status = :queued AND #inLine = :waiting AND ' +
          (admitted.admission === 1 ? '(attribute_not_exists(admissions) OR admissions = :previous)' : 'admissions = :previous'),
        ExpressionAttributeNames: { '#status': 'status', '#inLine': 'inLine' },
        ExpressionAttributeValues: {
          ':admission': admitted.admission,
          ':previous': admitted.admission - 1,
          ':at': admitted.admittedAt,
          ':deadline': admitted.deadlineAt,
          ':queued': 'QUEUED',
          ':waiting': WAITING,
        },
      });
    },

    async returnToLine(jobId, returned) {
      const job = await this.get(jobId);
      if (!job?.lineKey) return false;
      return conditionalUpdate({
        Key: { jobId },
        UpdateExpression: 'SET #inLine = :waiting, lineKey = :front, updatedAt = :at REMOVE executionArn',
        ConditionExpression: '#status = :queued AND admissions = :admission AND attribute_not_exists(#inLine) AND lineKey = :lineKey',
        ExpressionAttributeNames: { '#status': 'status', '#inLine': 'inLine' },
        ExpressionAttributeValues: {
          ':waiting': WAITING,
          ':front': frontOfLine(job.lineKey),
          ':lineKey': job.lineKey,
          ':at': returned.at.toISOString(),
          ':queued': 'QUEUED',
          ':admission': returned.admission,
        },
      });
    },

    async recordRerun(jobId, rerunJobId) {
      await conditionalUpdate({
        Key: { jobId },
        UpdateExpression: 'SET reruns = list_append(if_not_exists(reruns, :none), :rerun)',
        // Bounded: the record must stay far under DynamoDB's 400 KB item limit, whoever reruns it.
        ConditionExpression: 'attribute_exists(jobId) AND (attribute_not_exists(reruns) OR size(reruns) < :max)',
        ExpressionAttributeValues: { ':none': [], ':rerun': [rerunJobId], ':max': MAX_RERUNS_LISTED },
      });
    },

    async joinLine(jobId, joined) {
      return conditionalUpdate({
        Key: { jobId },
        UpdateExpression: 'SET #inLine = :waiting, lineKey = :lineKey, queuedAt = :queuedAt, updatedAt = :queuedAt REMOVE #deferred',
        ConditionExpression: '#status = :queued AND #deferred = :true',
        ExpressionAttributeNames: { '#status': 'status', '#deferred': 'deferred', '#inLine': 'inLine' },
        ExpressionAttributeValues: {
          ':waiting': WAITING,
          ':lineKey': joined.lineKey,
          ':queuedAt': joined.queuedAt.toISOString(),
          ':queued': 'QUEUED',
          ':true': true,
        },
      });
    },

    async markStarted(jobId, executionArn, deadlineAt, admission) {
      return conditionalUpdateReturning({
        Key: { jobId },
        // `deferred` is a DynamoDB reserved word, like `status`: both go through names.
        UpdateExpression: 'SET executionArn = :arn, deadlineAt = :deadline REMOVE #deferred',
        ConditionExpression: 'admissions = :admission AND attribute_not_exists(#inLine)',
        ExpressionAttributeNames: { '#deferred': 'deferred', '#inLine': 'inLine' },
        ExpressionAttributeValues: { ':arn': executionArn, ':deadline': deadlineAt, ':admission': admission },
      });
    },

    async endJob(jobId, end) {
      const from = end.from ?? ACTIVE_STATUSES;
      const fromValues = Object.fromEntries(from.map((status, index) => [`:from${index}`, status]));
      const onExecution = end.executionArn === undefined ? {} : { ':execution': end.executionArn };
      const waiting = end.whileWaiting ? { ':waiting': WAITING } : {};
      return conditionalUpdateReturning({
        Key: { jobId },
        UpdateExpression: 'SET #status = :status, #error = :error, finishedAt = :at, updatedAt = :at REMOVE #deferred, #inLine',
        ConditionExpression: [
          `#status IN (${Object.keys(fromValues).join(', ')})`,
          ...(end.executionArn === undefined ? [] : ['executionArn = :execution']),
          ...(end.whileWaiting ? ['#inLine = :waiting'] : []),
        ].join(' AND '),
        ExpressionAttributeNames: { '#status': 'status', '#error': 'error', '#deferred': 'deferred', '#inLine': 'inLine' },
        ExpressionAttributeValues: { ':status': end.status, ':error': end.error, ':at': end.at.toISOString(), ...fromValues, ...onExecution, ...waiting },
      });
    },

    async listActive() {
      const active: JobRecord[] = [];
      for (const status of ACTIVE_STATUSES) for await (const job of withStatus(status)) active.push(job);
      return active;
    },

    async markAnnounced(jobId, at, marker = 'announcedAt') {
      await documents.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { jobId },
          UpdateExpression: 'SET #marker = if_not_exists(#marker, :at)',
          ConditionExpression: 'attribute_exists(jobId)',
          ExpressionAttributeNames: { '#marker': marker },
          ExpressionAttributeValues: { ':at': at.toISOString() },
        }),
      );
    },

    async claimResume(jobId, claim) {
      return conditionalUpdate({
        Key: { jobId },
        UpdateExpression: 'SET resumes = :attempt',
        ConditionExpression:
          '#status IN (:submitted, :running) AND executionArn = :lost AND ' +
          (claim.attempt === 1 ? '(attribute_not_exists(resumes) OR resumes = :previous)' : 'resumes = :previous'),
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':attempt': claim.attempt,
          ':previous': claim.attempt - 1,
          ':lost': claim.lostExecutionArn,
          ':submitted': 'SUBMITTED',
          ':running': 'RUNNING',
        },
      });
    },

    async recordResumed(jobId, resumed) {
      return conditionalUpdate({
        Key: { jobId },
        UpdateExpression: 'SET executionArn = :arn',
        ConditionExpression: '#status IN (:submitted, :running) AND resumes = :attempt',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':arn': resumed.executionArn, ':attempt': resumed.attempt, ':submitted': 'SUBMITTED', ':running': 'RUNNING' },
      });
    },

    async list(query) {
      const names: Record<string, string> = {};
      const values: Record<string, unknown> = {};
      let keyCondition: string;
      let indexName: string;
      // QUEUED jobs are listed as the line: the order they will start in, next first.
      const line = query.status === 'QUEUED';
      if (line) {
        indexName = LINE_INDEX;
        keyCondition = '#inLine = :waiting';
        names['#inLine'] = 'inLine';
        values[':waiting'] = WAITING;
      } else if (query.status) {
        indexName = STATUS_INDEX;
        keyCondition = '#status = :status';
        names['#status'] = 'status';
        values[':status'] = query.status;
      } else {
        indexName = CREATED_INDEX;
        keyCondition = '#kind = :kind';
        names['#kind'] = 'kind';
        values[':kind'] = JOB_KIND;
      }
      if (query.trigger) {
        names['#trigger'] = 'trigger';
        names['#type'] = 'type';
        values[':trigger'] = query.trigger;
      }
      const startKey = query.cursor === undefined ? undefined : decodeCursor(query.cursor, query.status);
      let answer;
      try {
        answer = await documents.send(
          new QueryCommand({
            TableName: tableName,
            IndexName: indexName,
            KeyConditionExpression: keyCondition,
            ...(query.trigger ? { FilterExpression: '#trigger.#type = :trigger' } : {}),
            ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
            ExpressionAttributeValues: values,
            ScanIndexForward: line,
            Limit: query.limit,
            ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          }),
        );
      } catch (error) {
        // The backstop if the check above ever lags the indexes (a changed index, a cursor from before):
        // with a start key, the part of the query a caller controls is the cursor.
        if (startKey && isValidationException(error)) throw notOurCursor(query.status);
        throw error;
      }
      const nextCursor = encodeCursor(answer.LastEvaluatedKey);
      return { jobs: (answer.Items ?? []) as JobRecord[], ...(nextCursor ? { nextCursor } : {}) };
    },

    async listDeferred() {
      const deferred: JobRecord[] = [];
      for await (const job of withStatus('QUEUED', { filter: '#deferred = :true', names: { '#deferred': 'deferred' }, values: { ':true': true } })) {
        deferred.push(job);
      }
      return deferred;
    },
  };
}
