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
  rowsTruncated: boolean;
}

const MAX_ROWS = 10_000;

/**
 * Runs user SQL read-only at the storage level: readonly=1 makes ClickHouse itself refuse writes,
 * DDL, SET and table functions that reach files or the network. No string matching decides this.
 */
export async function readOnlyQuery(client: ClickHouseClient, sql: string): Promise<QueryResult> {
  try {
    const rs = await client.query({
      query: sql,
      format: 'JSONCompact',
      clickhouse_settings: {
        readonly: '1',
      },
    });
    const body = (await rs.json()) as unknown as { meta: { name: string; type: string }[]; data: unknown[][] };
    const columns = body.meta;
    const data = body.data.slice(0, MAX_ROWS);
    return {
      columns,
      rows: data.map((row) => Object.fromEntries(columns.map((c, i) => [c.name, row[i]]))),
      rowsTruncated: body.data.length > MAX_ROWS,
    };
  } catch (cause) {
    const msg = (cause as Error).message ?? String(cause);
    if (/readonly|READONLY|Cannot execute query in readonly mode|ACCESS_DENIED/i.test(msg)) {
      throw new QueryError(`refused: queries are read-only (${msg.split('\n')[0]!.trim()})`, true, { cause });
    }
    throw new QueryError(`query failed: ${msg.split('\n')[0]!.trim()}`, false, { cause });
  }
}
