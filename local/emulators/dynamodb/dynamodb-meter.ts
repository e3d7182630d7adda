import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';

/**
 * A loopback proxy in front of dynalite that counts what on-demand DynamoDB would bill: read and write
 * request units, by operation. Every client the local stack runs (the handlers' and the native
 * DynamoDB tasks') reaches DynamoDB through AWS_ENDPOINT_URL_DYNAMODB, so pointing that here sees
 * them all, whatever client or library built the request.
 *
 * Reads: dynalite computes ConsumedCapacity as DynamoDB does (4 KB units of the items read, before
 * any filter or projection; half for eventually consistent reads; a query by the total size it read),
 * so the proxy asks for it and takes it out of the answer again when the caller did not ask. Only an
 * empty Query or Scan it reports as free, where DynamoDB charges a request at least one unit.
 * Writes: dynalite counts only the table, not its global secondary indexes, and nothing for a failed
 * condition, while both are billed. So the proxy knows the item before each write and (for an update)
 * after it, one write per key at a time, and counts by DynamoDB's rules. It reads the item before a
 * write from dynalite unless the write before it on that key just told it (writes queued on one key,
 * as on the admission slots, would otherwise each pay two more reads of it while the others wait),
 * and has an update answer the item after it (ReturnValues ALL_NEW, taken out again of an answer
 * the caller did not ask it of):
 * - the table: 1 KB units of the larger of the item before and after (at least 1);
 * - each GSI: putting an item into it, removing it, or rewriting its projection costs the entry's
 *   1 KB units; changing its key costs both (a delete and a put); an entry left unchanged costs nothing;
 * - a failed condition: the units of the item as it stands (for a put, the larger of it and the new
 *   item; at least 1).
 * Item sizes follow DynamoDB's published sizing (attribute names and values in UTF-8 bytes, numbers
 * about one byte per two significant digits plus one, 3 bytes per list or map and one per element):
 * approximate for numbers, exact for the strings and maps the pipeline stores.
 */

export interface DynamoDbOperationUsage {
  requests: number;
  readUnits: number;
  writeUnits: number;
}

export interface DynamoDbUsage {
  readUnits: number;
  /** Table and index writes together, as the bill has them. */
  writeUnits: number;
  /** The part of writeUnits that went to global secondary indexes. */
  indexWriteUnits: number;
  conditionalCheckFailures: number;
  /** Every request by operation, control-plane calls (CreateTable, DescribeTable…) with no units. */
  byOperation: Record<string, DynamoDbOperationUsage>;
}

export interface DynamoDbMeter {
  url: string;
  usage(): DynamoDbUsage;
  close(): Promise<void>;
}

export type AttributeValue = {
  S?: string;
  N?: string;
  B?: string;
  BOOL?: boolean;
  NULL?: boolean;
  SS?: string[];
  NS?: string[];
  BS?: string[];
  L?: AttributeValue[];
  M?: Item;
};
export type Item = Record<string, AttributeValue>;

const utf8 = (text: string) => Buffer.byteLength(text, 'utf8');

function numberSize(value: string): number {
  const mantissa = value.replace(/^[+-]/, '').split(/e/i)[0]!.replace('.', '');
  const significant = mantissa.replace(/^0+/, '').replace(/0+$/, '').length;
  return Math.ceil(Math.max(1, significant) / 2) + 1;
}

export function attributeValueSize(value: AttributeValue): number {
  if (value.S !== undefined) return utf8(value.S);
  if (value.N !== undefined) return numberSize(value.N);
  if (value.B !== undefined) return Buffer.from(value.B, 'base64').length;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS) return value.SS.reduce((sum, member) => sum + utf8(member), 0);
  if (value.NS) return value.NS.reduce((sum, member) => sum + numberSize(member), 0);
  if (value.BS) return value.BS.reduce((sum, member) => sum + Buffer.from(member, 'base64').length, 0);
  if (value.L) return 3 + value.L.reduce((sum, member) => sum + 1 + attributeValueSize(member), 0);
  if (value.M) return 3 + Object.keys(value.M).length + itemSize(value.M);
  return 0;
}

export function itemSize(item: Item): number {
  return Object.entries(item).reduce((sum, [name, value]) => sum + utf8(name) + attributeValueSize(value), 0);
}

const kilobyteUnits = (item: Item | undefined) => (item ? Math.ceil(itemSize(item) / 1024) : 0);

export interface TableLayout {
  keys: string[];
  indexes: { name: string; keys: string[]; projection: { type: 'ALL' | 'KEYS_ONLY' | 'INCLUDE'; attributes: string[] } }[];
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

const pick = (item: Item, names: Iterable<string>): Item =>
  Object.fromEntries([...names].filter((name) => item[name] !== undefined).map((name) => [name, item[name]!]));

function indexEntry(layout: TableLayout, index: TableLayout['indexes'][number], item: Item | undefined): Item | undefined {
  if (!item || index.keys.some((name) => item[name] === undefined)) return undefined;
  if (index.projection.type === 'ALL') return item;
  return pick(item, new Set([...layout.keys, ...index.keys, ...(index.projection.type === 'INCLUDE' ? index.projection.attributes : [])]));
}

/** Write units a table write costs in the table's global secondary indexes (see the module comment). */
export function indexWriteUnits(layout: TableLayout, before: Item | undefined, after: Item | undefined): number {
  let units = 0;
  for (const index of layout.indexes) {
    const old = indexEntry(layout, index, before);
    const next = indexEntry(layout, index, after);
    if (!old && !next) continue;
    if (!old || !next) {
      units += kilobyteUnits(old ?? next);
    } else if (index.keys.some((name) => canonical(old[name]) !== canonical(next[name]))) {
      units += kilobyteUnits(old) + kilobyteUnits(next);
    } else if (canonical(old) !== canonical(next)) {
      units += kilobyteUnits(next);
    }
  }
  return units;
}

/** Table write units of a successful write (the larger of the item before and after, at least 1). */
export const tableWriteUnits = (before: Item | undefined, after: Item | undefined) => Math.max(1, kilobyteUnits(before), kilobyteUnits(after));

const READS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan']);
const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem']);

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

async function readAll(stream: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The answer with another JSON body, its checksum and length to match. */
function withBody(answer: Answer, body: unknown): Answer {
  const text = JSON.stringify(body);
  return {
    ...answer,
    headers: { ...answer.headers, 'x-amz-crc32': String(crc32(text)), 'content-length': String(Buffer.byteLength(text)) },
    body: Buffer.from(text),
  };
}

/** dynalite checks that a request looks signed, not the signature: enough for the proxy's own reads. */
const SIGNED_LOOKING = {
  authorization: 'AWS4-HMAC-SHA256 Credential=local/20000101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=local',
  'x-amz-date': '20000101T000000Z',
  'content-type': 'application/x-amz-json-1.0',
};

/** Sees every request as it arrives: its X-Amz-Target, its parsed body, and who signed it (the Authorization header). */
export type DynamoDbRequestObserver = (target: string, body: Record<string, unknown>, authorization: string | undefined) => void;

export async function startDynamoDbMeter(targetUrl: string, onRequest?: DynamoDbRequestObserver): Promise<DynamoDbMeter> {
  const target = new URL(targetUrl);
  const agent = new Agent({ keepAlive: true });
  const byOperation: Record<string, DynamoDbOperationUsage> = {};
  const totals = { indexWriteUnits: 0, conditionalCheckFailures: 0 };
  const layouts = new Map<string, Promise<TableLayout | undefined>>();
  const keyLocks = new Map<string, Promise<unknown>>();
  /** The item after the last write on a key, while more writes are queued on it (absent: read it). */
  const itemAfterLastWrite = new Map<string, Item | undefined>();

  const count = (operation: string, units: { readUnits?: number; writeUnits?: number } = {}) => {
    const entry = (byOperation[operation] ??= { requests: 0, readUnits: 0, writeUnits: 0 });
    entry.requests += 1;
    entry.readUnits += units.readUnits ?? 0;
    entry.writeUnits += units.writeUnits ?? 0;
  };

  const send = (path: string, headers: IncomingHttpHeaders, body: Buffer) =>
    new Promise<Answer>((resolve, reject) => {
      const outgoing = httpRequest(
        {
          host: target.hostname,
          port: target.port,
          method: 'POST',
          path,
          agent,
          headers: { ...headers, host: target.host, 'content-length': String(body.length) },
        },
        (response) => {
          readAll(response).then((answer) => resolve({ status: response.statusCode ?? 500, headers: response.headers, body: answer }), reject);
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });

  const direct = async (operation: string, payload: unknown): Promise<Record<string, unknown>> => {
    const answer = await send('/', { ...SIGNED_LOOKING, 'x-amz-target': `DynamoDB_20120810.${operation}` }, Buffer.from(JSON.stringify(payload)));
    const parsed = JSON.parse(answer.body.toString('utf8')) as Record<string, unknown>;
    if (answer.status !== 200) throw new Error(`${operation}: ${String(parsed.__type)} ${String(parsed.message ?? '')}`);
    return parsed;
  };

  const layoutOf = (tableName: string) => {
    let layout = layouts.get(tableName);
    if (!layout) {
      layout = direct('DescribeTable', { TableName: tableName }).then(
        ({ Table: table }) => {
          const description = table as {
            KeySchema: { AttributeName: string }[];
            GlobalSecondaryIndexes?: {
              IndexName: string;
              KeySchema: { AttributeName: string }[];
              Projection?: { ProjectionType?: string; NonKeyAttributes?: string[] };
            }[];
          };
          return {
            keys: description.KeySchema.map((key) => key.AttributeName),
            indexes: (description.GlobalSecondaryIndexes ?? []).map((index) => ({
              name: index.IndexName,
              keys: index.KeySchema.map((key) => key.AttributeName),
              projection: {
                type: (index.Projection?.ProjectionType ?? 'ALL') as 'ALL' | 'KEYS_ONLY' | 'INCLUDE',
                attributes: index.Projection?.NonKeyAttributes ?? [],
              },
            })),
          };
        },
        // A table that does not exist: the write fails at dynalite too and costs nothing.
        () => undefined,
      );
      // A table created later must not be remembered as missing.
      void layout.then((found) => {
        if (!found) layouts.delete(tableName);
      });
      layouts.set(tableName, layout);
    }
    return layout;
  };

  // A key dynalite refuses makes the write itself fail, at no cost: no item to size either way.
  const currentItem = (tableName: string, key: Item) =>
    direct('GetItem', { TableName: tableName, Key: key, ConsistentRead: true }).then(
      (answer) => answer.Item as Item | undefined,
      () => undefined,
    );

  async function oneWriteAtATime<T>(lockKey: string, work: () => Promise<T>): Promise<T> {
    const previous = keyLocks.get(lockKey) ?? Promise.resolve();
    const run = previous.then(work, work);
    const settled = run.catch(() => undefined);
    keyLocks.set(lockKey, settled);
    try {
      return await run;
    } finally {
      if (keyLocks.get(lockKey) === settled) {
        keyLocks.delete(lockKey);
        itemAfterLastWrite.delete(lockKey);
      }
    }
  }

  async function meteredRead(operation: string, path: string, headers: IncomingHttpHeaders, raw: Buffer, request: Record<string, unknown>): Promise<Answer> {
    const asked = request.ReturnConsumedCapacity === 'TOTAL' || request.ReturnConsumedCapacity === 'INDEXES';
    const answer = await send(path, headers, asked ? raw : Buffer.from(JSON.stringify({ ...request, ReturnConsumedCapacity: 'TOTAL' })));
    if (answer.status !== 200) {
      count(operation);
      return answer;
    }
    const parsed = JSON.parse(answer.body.toString('utf8')) as { ConsumedCapacity?: { CapacityUnits?: number } | { CapacityUnits?: number }[] };
    const consumed = [parsed.ConsumedCapacity ?? []].flat().reduce((sum, entry) => sum + (entry.CapacityUnits ?? 0), 0);
    const least = operation === 'Query' || operation === 'Scan' ? (request.ConsistentRead === true ? 1 : 0.5) : 0;
    count(operation, { readUnits: Math.max(least, consumed) });
    if (asked) return answer;
    delete parsed.ConsumedCapacity;
    return withBody(answer, parsed);
  }

  async function meteredWrite(operation: string, path: string, headers: IncomingHttpHeaders, raw: Buffer, request: Record<string, unknown>): Promise<Answer> {
    const tableName = String(request.TableName);
    const layout = await layoutOf(tableName);
    const newItem = operation === 'PutItem' ? (request.Item as Item | undefined) : undefined;
    const key = operation === 'PutItem' ? (layout && newItem ? pick(newItem, layout.keys) : undefined) : (request.Key as Item | undefined);
    if (!layout || !key) {
      count(operation);
      return send(path, headers, raw);
    }
    const lockKey = `${tableName}\u0000${canonical(key)}`;
    return oneWriteAtATime(lockKey, async () => {
      const before = itemAfterLastWrite.has(lockKey) ? itemAfterLastWrite.get(lockKey) : await currentItem(tableName, key);
      const returnValues = request.ReturnValues ?? 'NONE';
      const answersItem = operation === 'UpdateItem' && (returnValues === 'NONE' || returnValues === 'ALL_NEW');
      const forwarded = answersItem && returnValues === 'NONE' ? Buffer.from(JSON.stringify({ ...request, ReturnValues: 'ALL_NEW' })) : raw;
      let answer = await send(path, headers, forwarded);
      itemAfterLastWrite.delete(lockKey);
      if (answer.status === 200) {
        let after: Item | undefined;
        if (operation === 'PutItem') after = newItem;
        else if (answersItem) {
          const parsed = JSON.parse(answer.body.toString('utf8')) as { Attributes?: Item };
          after = parsed.Attributes;
          if (returnValues === 'NONE') {
            delete parsed.Attributes;
            answer = withBody(answer, parsed);
          }
        } else if (operation === 'UpdateItem') after = await currentItem(tableName, key);
        itemAfterLastWrite.set(lockKey, after);
        const index = indexWriteUnits(layout, before, after);
        totals.indexWriteUnits += index;
        count(operation, { writeUnits: tableWriteUnits(before, after) + index });
      } else if (answer.body.toString('utf8').includes('ConditionalCheckFailedException')) {
        itemAfterLastWrite.set(lockKey, before);
        totals.conditionalCheckFailures += 1;
        count(operation, { writeUnits: tableWriteUnits(before, newItem) });
      } else {
        count(operation);
      }
      return answer;
    });
  }

  const server = createServer((incoming, outgoing) => {
    void (async () => {
      const raw = await readAll(incoming);
      const operation = String(incoming.headers['x-amz-target'] ?? '').split('.')[1] ?? 'Unknown';
      const path = incoming.url ?? '/';
      let request: Record<string, unknown> | undefined;
      try {
        request = READS.has(operation) || WRITES.has(operation) || onRequest ? (JSON.parse(raw.toString('utf8')) as Record<string, unknown>) : undefined;
      } catch {
        request = undefined;
      }
      onRequest?.(String(incoming.headers['x-amz-target'] ?? ''), request ?? {}, incoming.headers.authorization);
      let answer: Answer;
      // The body is forwarded whole, with its own length.
      const { 'transfer-encoding': _chunked, ...headers } = incoming.headers;
      if (request && READS.has(operation)) answer = await meteredRead(operation, path, headers, raw, request);
      else if (request && WRITES.has(operation)) answer = await meteredWrite(operation, path, headers, raw, request);
      else {
        count(operation);
        answer = await send(path, headers, raw);
      }
      outgoing.writeHead(answer.status, answer.headers);
      outgoing.end(answer.body);
    })().catch((error: unknown) => {
      outgoing.writeHead(500, { 'content-type': 'application/x-amz-json-1.0' });
      outgoing.end(JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: `local DynamoDB meter: ${String(error)}` }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    usage() {
      const operations = Object.fromEntries(Object.entries(byOperation).map(([name, entry]) => [name, { ...entry }]));
      const sum = (field: 'readUnits' | 'writeUnits') => Object.values(operations).reduce((total, entry) => total + entry[field], 0);
      return { readUnits: sum('readUnits'), writeUnits: sum('writeUnits'), ...totals, byOperation: operations };
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          agent.destroy();
          resolve();
        });
      }),
  };
}
