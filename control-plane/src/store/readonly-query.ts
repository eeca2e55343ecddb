import { availableParallelism, totalmem } from 'node:os';
import type { ClickHouseClient } from '@clickhouse/client';

export class QueryError extends Error {
  override name = 'QueryError';
  constructor(message: string, readonly refused: boolean, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export interface QueryResult {
  columns: { name: string; type: string }[];
  rows: Record<string, unknown>[];
  /** The query had more rows than came back (the first MAX_ROWS). */
  rowsTruncated: boolean;
}

/**
 * Bounds on one user query (`vigil query`, SQL detections). With the embedded engine the query runs
 * inside the control plane: unbounded, `SELECT count() FROM numbers(1e12)` held both cores for many
 * minutes and a GROUP BY over every event could take the process's memory, while events waited.
 */
export interface QueryLimits {
  maxSeconds: number;
  maxMemoryBytes: number;
  /** Threads one user query may use: all cores but one, which stays with storing events. */
  maxThreads: number;
}

const GIB = 1024 ** 3;
export const USER_QUERY_LIMITS: QueryLimits = {
  maxSeconds: 30,
  maxMemoryBytes: Math.max(GIB / 2, Math.min(2 * GIB, Math.floor(totalmem() / 8))),
  maxThreads: Math.max(1, availableParallelism() - 1),
};

const MAX_ROWS = 10_000;

/**
 * One query at a time per client, so that the query run after a failed one (see drain) is the
 * drain and never another caller's.
 */
const queues = new WeakMap<ClickHouseClient, Promise<unknown>>();
function exclusive<T>(client: ClickHouseClient, run: () => Promise<T>): Promise<T> {
  const turn = (queues.get(client) ?? Promise.resolve()).then(run, run);
  queues.set(client, turn.catch(() => undefined));
  return turn;
}

/**
 * chDB (3.4) hands the output a failed query had written so far (a timeout, a memory limit, a
 * throwIf midway) to the next query of the same session, in front of that query's own: the next
 * user query then came back as two JSON documents, or worse, as rows that were not its own. A query
 * whose result is thrown away takes it instead. (A server over HTTP has no such carry-over; the
 * drain costs it one trivial query after a failure.)
 */
async function drain(client: ClickHouseClient): Promise<void> {
  try {
    const r = await client.exec({ query: 'SELECT 1', clickhouse_settings: { default_format: 'TabSeparated' } });
    for await (const _ of r.stream) { /* discarded */ }
  } catch {
    // The next user query will tell.
  }
}

/**
 * Runs user SQL read-only at the storage level: readonly=1 makes ClickHouse itself refuse writes,
 * DDL, SET and table functions that reach files or the network. No string matching decides this.
 * The limits are set before readonly (which forbids changing settings afterwards), on the client
 * kept for user SQL (StorageClients.user), whose session they stay with.
 */
export function readOnlyQuery(client: ClickHouseClient, sql: string, limits: QueryLimits = USER_QUERY_LIMITS): Promise<QueryResult> {
  return exclusive(client, () => runReadOnly(client, sql, limits));
}

async function runReadOnly(client: ClickHouseClient, sql: string, limits: QueryLimits): Promise<QueryResult> {
  let text: string;
  try {
    // exec sends the SQL as written (query() would append a FORMAT clause, turning statements such
    // as SYSTEM … into syntax errors before the read-only guard could refuse them).
    const r = await client.exec({
      query: sql,
      clickhouse_settings: {
        max_execution_time: limits.maxSeconds,
        max_memory_usage: String(limits.maxMemoryBytes),
        max_threads: limits.maxThreads,
        // Past this the result is cut, not refused (`SELECT * FROM events` shows the first rows);
        // small blocks make the cut land near MAX_ROWS instead of at the next 65,536 rows.
        // (max_result_bytes would not cut a result of long strings here: its rows are counted
        // before the strings are made.)
        max_result_rows: String(MAX_ROWS + 1),
        result_overflow_mode: 'break',
        max_block_size: '1024',
        readonly: '1',
        default_format: 'JSONCompact',
      },
    });
    const chunks: Buffer[] = [];
    for await (const chunk of r.stream) chunks.push(Buffer.from(chunk as Uint8Array));
    text = Buffer.concat(chunks).toString('utf8');
  } catch (cause) {
    await drain(client);
    const msg = (cause as Error).message ?? String(cause);
    const first = msg.split('\n')[0]!.trim();
    if (/readonly|READONLY|Cannot execute query in readonly mode|ACCESS_DENIED/i.test(msg)) {
      throw new QueryError(`refused: queries are read-only (${first})`, true, { cause });
    }
    if (/Timeout exceeded/i.test(msg)) throw new QueryError(`query failed: it ran past the ${limits.maxSeconds} s limit of a user query`, false, { cause });
    if (/memory limit/i.test(msg)) throw new QueryError(`query failed: it needed more than the ${Math.round(limits.maxMemoryBytes / 1024 ** 2)} MiB a user query may use (${first})`, false, { cause });
    throw new QueryError(`query failed: ${first}`, false, { cause });
  }
  if (text.trim() === '') return { columns: [], rows: [], rowsTruncated: false };
  let body: { meta: { name: string; type: string }[]; data: unknown[][] };
  try {
    body = JSON.parse(text) as typeof body;
  } catch (cause) {
    throw new QueryError('query failed: the result is not JSONCompact (leave FORMAT out of the query)', false, { cause });
  }
  const columns = body.meta;
  const data = body.data.slice(0, MAX_ROWS);
  return {
    columns,
    rows: data.map((row) => Object.fromEntries(columns.map((c, i) => [c.name, row[i]]))),
    rowsTruncated: body.data.length > MAX_ROWS,
  };
}
