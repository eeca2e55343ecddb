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
  let text: string;
  try {
    // exec sends the SQL as written (query() would append a FORMAT clause, turning statements such
    // as SYSTEM … into syntax errors before the read-only guard could refuse them).
    const r = await client.exec({
      query: sql,
      clickhouse_settings: { readonly: '1', default_format: 'JSONCompact' },
    });
    const chunks: Buffer[] = [];
    for await (const chunk of r.stream) chunks.push(Buffer.from(chunk as Uint8Array));
    text = Buffer.concat(chunks).toString('utf8');
  } catch (cause) {
    const msg = (cause as Error).message ?? String(cause);
    if (/readonly|READONLY|Cannot execute query in readonly mode|ACCESS_DENIED/i.test(msg)) {
      throw new QueryError(`refused: queries are read-only (${msg.split('\n')[0]!.trim()})`, true, { cause });
    }
    throw new QueryError(`query failed: ${msg.split('\n')[0]!.trim()}`, false, { cause });
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
