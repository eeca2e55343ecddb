import type { ClickHouseClient } from '@clickhouse/client';
import { EventKind, HostId, type EventV1 } from '@vigil/schema';
import { z } from 'zod/v4';

/** Filters of `vigil events`; every value reaches ClickHouse as a bound parameter. */
export const EventFilter = z.object({
  kind: EventKind.optional(),
  comm: z.string().max(64).optional(),
  pid: z.coerce.number().int().nonnegative().optional(),
  host: HostId.optional(),
  /** Lower bound, ns since epoch. */
  sinceNs: z.string().regex(/^\d+$/).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(100),
});
export type EventFilter = z.infer<typeof EventFilter>;

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
    const newest = await newestTs(client);
    if (newest === null) return [];
    const recent = await readEvents(client, { ...f, sinceNs: (newest > RECENT_WINDOW_NS ? newest - RECENT_WINDOW_NS : 0n).toString() });
    if (recent.length >= f.limit) return recent;
  }
  return readEvents(client, f);
}

async function newestTs(client: ClickHouseClient): Promise<bigint | null> {
  const rs = await client.query({ query: 'SELECT toUnixTimestamp64Nano(max(ts)) AS ns, count() AS n FROM events', format: 'JSONEachRow' });
  const [row] = await rs.json<{ ns: string; n: string }>();
  return row && Number(row.n) > 0 ? BigInt(row.ns) : null;
}

async function readEvents(client: ClickHouseClient, f: EventFilter): Promise<EventV1[]> {
  const where: string[] = [];
  const params: Record<string, unknown> = { limit: f.limit };
  if (f.kind) { where.push('kind = {kind:String}'); params.kind = f.kind; }
  if (f.comm) { where.push('comm = {comm:String}'); params.comm = f.comm; }
  if (f.pid !== undefined) { where.push('pid = {pid:UInt32}'); params.pid = f.pid; }
  if (f.host) { where.push('host = {host:String}'); params.host = f.host; }
  if (f.sinceNs) { where.push('ts >= fromUnixTimestamp64Nano({since:Int64})'); params.since = f.sinceNs; }
  const rs = await client.query({
    query: `SELECT event FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
            ORDER BY ts DESC, id LIMIT 1 BY id LIMIT {limit:UInt32}`,
    query_params: params,
    format: 'JSONEachRow',
  });
  const rows = await rs.json<{ event: string }>();
  return rows.map((r) => JSON.parse(r.event) as EventV1);
}
