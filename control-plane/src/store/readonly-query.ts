import { availableParallelism, totalmem } from 'node:os';
import type { ClickHouseClient, ClickHouseSettings } from '@clickhouse/client';
import { chdbSessionOf } from './client.js';
import { QueryBusyError, QueryError } from './query-error.js';
import { readBudgeted, ResultFormatError, RESULT_FORMAT, type BudgetedResult } from './result-budget.js';
import { guardUserSql } from './sql-guard.js';

export { QueryBusyError, QueryError } from './query-error.js';

export type QueryResult = BudgetedResult;

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
  /** Bytes of result rows that come back (the rest is cut and flagged): what the API copies outside the engine's memory limit. */
  maxResultBytes: number;
  /** API queries running or waiting at once; one more is refused as busy. SQL detections wait regardless. */
  maxPending: number;
}

const GIB = 1024 ** 3;
export const USER_QUERY_LIMITS: QueryLimits = {
  maxSeconds: 30,
  maxMemoryBytes: Math.max(GIB / 2, Math.min(2 * GIB, Math.floor(totalmem() / 8))),
  maxThreads: Math.max(1, availableParallelism() - 1),
  maxResultBytes: 16 * 1024 ** 2,
  maxPending: 3,
};

const MAX_ROWS = 10_000;

/**
 * One query at a time per client, so that the query run after a failed one (see drain) is the
 * drain and never another caller's. API queries are bounded in number: past maxPending a caller
 * hears "busy" at once instead of waiting behind minutes of heavy queries. SQL detections are the
 * control plane's own schedule (one run of each at a time) and always wait their turn.
 */
interface Lane {
  tail: Promise<unknown>;
  pending: number;
}
const lanes = new WeakMap<ClickHouseClient, Lane>();
function exclusive<T>(client: ClickHouseClient, bounded: number | null, run: () => Promise<T>): Promise<T> {
  let lane = lanes.get(client);
  if (!lane) lanes.set(client, (lane = { tail: Promise.resolve(), pending: 0 }));
  if (bounded !== null && lane.pending >= bounded) return Promise.reject(new QueryBusyError(lane.pending, bounded));
  const turn = lane.tail.then(run, run);
  lane.tail = turn.catch(() => undefined);
  if (bounded === null) return turn;
  const counted = lane;
  counted.pending++;
  return turn.finally(() => {
    counted.pending--;
  });
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
    for await (const _ of r.stream) {
      /* discarded */
    }
  } catch {
    // The next user query will tell.
  }
}

export interface QueryOptions {
  /** Who asks: API queries are bounded in number (maxPending), the control plane's SQL detections are not. */
  source: 'api' | 'detection';
}

/**
 * Runs user SQL: one SELECT that reaches only Vigil's tables (sql-guard.ts decides, on the engine's
 * own parse), on the client kept for user SQL (StorageClients.user), read-only at the storage level
 * too (readonly=1 makes ClickHouse itself refuse writes, DDL and SET), bounded in time, memory,
 * threads, rows and result bytes. The limits are set before readonly (which forbids changing
 * settings afterwards) and stay with the user session.
 */
export function readOnlyQuery(
  client: ClickHouseClient,
  sql: string,
  limits: QueryLimits = USER_QUERY_LIMITS,
  opts: QueryOptions = { source: 'api' },
): Promise<QueryResult> {
  return exclusive(client, opts.source === 'api' ? limits.maxPending : null, () => runReadOnly(client, sql, limits));
}

function userSettings(limits: QueryLimits): ClickHouseSettings {
  return {
    max_execution_time: limits.maxSeconds,
    max_memory_usage: String(limits.maxMemoryBytes),
    max_threads: limits.maxThreads,
    // Past these the engine stops producing (not refused: `SELECT * FROM events` shows the first
    // rows); small blocks make the cut land near the bound. The bytes are counted as the engine
    // holds them (a constant string once), so readBudgeted holds the result to them as well.
    max_result_rows: String(MAX_ROWS + 1),
    max_result_bytes: String(limits.maxResultBytes),
    result_overflow_mode: 'break',
    max_block_size: '1024',
    readonly: '1',
  };
}

/**
 * The query's output, chunk by chunk: from chDB's own stream when embedded (the client's exec would
 * hand it over whole), one whole document (with its header) per block.
 */
async function* output(
  client: ClickHouseClient,
  sql: string,
  settings: ClickHouseSettings,
): AsyncGenerator<Uint8Array> {
  const chdb = chdbSessionOf(client);
  if (chdb) {
    // The settings are on the session already: the guard's queries just set them.
    for await (const chunk of chdb.queryStream(sql, { format: RESULT_FORMAT })) yield chunk.raw();
    return;
  }
  const r = await client.exec({ query: sql, clickhouse_settings: { ...settings, default_format: RESULT_FORMAT } });
  for await (const chunk of r.stream) yield chunk as Uint8Array;
}

async function runReadOnly(client: ClickHouseClient, sql: string, limits: QueryLimits): Promise<QueryResult> {
  const settings = userSettings(limits);
  try {
    const canonical = await guardUserSql(client, sql, settings);
    const result = await readBudgeted(
      output(client, canonical, settings),
      MAX_ROWS,
      limits.maxResultBytes,
      chdbSessionOf(client) !== undefined,
    );
    // A query stopped midway may leave output behind like a failed one (see drain).
    if (result.cut) await drain(client);
    return result;
  } catch (cause) {
    await drain(client);
    if (cause instanceof QueryError) throw cause;
    if (cause instanceof ResultFormatError) throw new QueryError(`query failed: ${cause.message}`, false, { cause });
    const msg = (cause as Error).message ?? String(cause);
    const first = msg.split('\n')[0]!.trim();
    if (/readonly|READONLY|Cannot execute query in readonly mode|ACCESS_DENIED/i.test(msg)) {
      throw new QueryError(`refused: queries are read-only (${first})`, true, { cause });
    }
    if (/Timeout exceeded/i.test(msg))
      throw new QueryError(`query failed: it ran past the ${limits.maxSeconds} s limit of a user query`, false, {
        cause,
      });
    if (/memory limit/i.test(msg))
      throw new QueryError(
        `query failed: it needed more than the ${Math.round(limits.maxMemoryBytes / 1024 ** 2)} MiB a user query may use (${first})`,
        false,
        { cause },
      );
    throw new QueryError(`query failed: ${first}`, false, { cause });
  }
}
