import type { ClickHouseClient } from '@clickhouse/client';
import type { EventFilter, EventV1 } from '@vigil/schema';
import { addColumnFilters } from './column-filter.js';

/** `vigil events`' filters (the API's contract, in @vigil/schema). */
export { EventFilter } from '@vigil/schema';

/** execve's return for an exec whose return was seen and was an error; null otherwise. */
export const execError = (ev: EventV1): number | null =>
  ev.kind === 'exec' && ev.exec.ret !== null && ev.exec.ret !== 0 ? ev.exec.ret : null;

/**
 * The filter on one event as it arrives (the live stream): the same rules as readEvents' WHERE,
 * over the event's own fields (the columns are derived from them, see migration 0005).
 */
export function eventMatches(f: Omit<EventFilter, 'limit'>, ev: EventV1): boolean {
  if (f.kind && ev.kind !== f.kind) return false;
  if (f.comm !== undefined && ev.proc.comm !== f.comm) return false;
  if (f.pid !== undefined && ev.proc.pid !== f.pid) return false;
  if (f.host && ev.host !== f.host) return false;
  if (f.job && ev.proc.job !== f.job) return false;
  if (f.container && !(ev.proc.containerId ?? '').startsWith(f.container)) return false;
  if (f.uid !== undefined && ev.proc.uid !== f.uid) return false;
  if (f.exe && (ev.kind === 'exec' ? ev.exec.filename : ev.proc.exe) !== f.exe) return false;
  if (f.failed !== undefined && (execError(ev) !== null) !== f.failed) return false;
  if (f.sinceNs && BigInt(ev.ts) < BigInt(f.sinceNs)) return false;
  if (f.untilNs && BigInt(ev.ts) >= BigInt(f.untilNs)) return false;
  return true;
}

/** How far back from the newest event the first, narrow read looks. */
const RECENT_WINDOW_NS = 3600n * 1_000_000_000n;

/**
 * Newest events first. Without a lower bound in the filter, the newest `limit` are nearly always in
 * the last hour: read that first (a day partition and a ts range, not every part of the table) and
 * only read everything when the hour holds fewer than `limit` matches. The newest timestamp comes from
 * the parts' min/max index (ts is the partition key's column), not from the rows.
 */
export async function queryEvents(client: ClickHouseClient, f: EventFilter): Promise<EventV1[]> {
  if (!f.sinceNs) {
    const newest = await newestTs(client, f.untilNs);
    if (newest === null) return [];
    const recent = await readEvents(client, {
      ...f,
      sinceNs: (newest > RECENT_WINDOW_NS ? newest - RECENT_WINDOW_NS : 0n).toString(),
    });
    if (recent.length >= f.limit) return recent;
  }
  return readEvents(client, f);
}

async function newestTs(client: ClickHouseClient, untilNs: string | undefined): Promise<bigint | null> {
  const rs = await client.query({
    query: `SELECT toUnixTimestamp64Nano(max(ts)) AS ns, count() AS n FROM events${untilNs ? ' WHERE ts < fromUnixTimestamp64Nano({until:Int64})' : ''}`,
    query_params: untilNs ? { until: untilNs } : {},
    format: 'JSONEachRow',
  });
  const [row] = await rs.json<{ ns: string; n: string }>();
  return row && Number(row.n) > 0 ? BigInt(row.ns) : null;
}

/** execve's return, read from the event's JSON (no column holds it); 0 when absent or null. */
const EXEC_RET = `JSONExtractInt(event, 'exec', 'ret')`;

async function readEvents(client: ClickHouseClient, f: EventFilter): Promise<EventV1[]> {
  const where: string[] = [];
  const params: Record<string, unknown> = { limit: f.limit };
  addColumnFilters(f, where, params);
  if (f.failed === true) where.push(`kind = 'exec' AND ${EXEC_RET} != 0`);
  if (f.failed === false) where.push(`NOT (kind = 'exec' AND ${EXEC_RET} != 0)`);
  const rs = await client.query({
    query: `SELECT event FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
            ORDER BY ts DESC, id LIMIT 1 BY id LIMIT {limit:UInt32}`,
    query_params: params,
    format: 'JSONEachRow',
  });
  const rows = await rs.json<{ event: string }>();
  return rows.map((r) => JSON.parse(r.event) as EventV1);
}
