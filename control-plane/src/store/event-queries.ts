import type { ClickHouseClient } from '@clickhouse/client';
import { EventKind, HostId, type EventV1 } from '@vigil/schema';
import { z } from 'zod';

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

export async function queryEvents(client: ClickHouseClient, f: EventFilter): Promise<EventV1[]> {
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
