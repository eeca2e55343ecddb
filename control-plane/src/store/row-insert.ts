import type { ClickHouseClient } from '@clickhouse/client';
import { wellFormedValue } from './well-formed-json.js';

/**
 * Inserts rows as JSONEachRow, naming the rows' own keys as the columns. Without a column list
 * ClickHouse reads only stored columns from the input and skips the rest, EPHEMERAL inputs included
 * (alerts' ts_ns, heartbeats' ts_ns: migrations 0006-0009), leaving what derives from them at its
 * default. All rows have the keys of the first. Strings holding a lone surrogate are stored with
 * U+FFFD: JSONEachRow refuses the whole insert over one (see well-formed-json.ts).
 */
export async function insertRows(
  ch: ClickHouseClient,
  table: string,
  rows: readonly Record<string, unknown>[],
): Promise<void> {
  const [first] = rows;
  if (!first) return;
  const [column, ...more] = Object.keys(first);
  if (column === undefined) return;
  await ch.insert({ table, columns: [column, ...more], values: rows.map(wellFormedValue), format: 'JSONEachRow' });
}
