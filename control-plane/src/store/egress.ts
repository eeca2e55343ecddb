import type { ClickHouseClient } from '@clickhouse/client';
import { EgressRow, type EgressFilter, type EgressReport } from '@vigil/schema';
import { addColumnFilters } from './column-filter.js';

/** A field of the conn event, by JSON path (conn events have no columns of their own). */
const CONN = (...path: string[]) => path.map((p) => `'${p}'`).join(', ');

/**
 * The firewall view of outbound TCP: per host, job, process and destination, how many connections
 * were established, how many closed and for how long they were held, from the `conn` events
 * (direction out). A folded event counts for `count` connections; its close carries the longest and
 * the summed durations of the ones it folds.
 */
export async function egressSummary(client: ClickHouseClient, f: EgressFilter): Promise<EgressReport> {
  const where = [`kind = 'conn'`, `JSONExtractString(event, ${CONN('conn', 'direction')}) = 'out'`];
  const params: Record<string, unknown> = { limit: f.limit + 1 };
  addColumnFilters({ host: f.host, job: f.job, sinceNs: f.sinceNs, untilNs: f.untilNs }, where, params);
  const rs = await client.query({
    query: `
      SELECT host, job, pid, comm, exe, family, addr, port,
             sumIf(n, ev = 'established') AS connections,
             sumIf(n, ev = 'close') AS closed,
             if(closed = 0, NULL, maxIf(longest, ev = 'close')) AS longestMs,
             if(closed = 0, NULL, sumIf(total, ev = 'close')) AS totalMs,
             toString(min(first)) AS firstTs,
             toString(max(last)) AS lastTs
      FROM (
        SELECT host, job, pid, comm, exe,
               JSONExtractString(event, ${CONN('conn', 'event')}) AS ev,
               JSONExtractString(event, ${CONN('conn', 'family')}) AS family,
               JSONExtractString(event, ${CONN('conn', 'remote', 'addr')}) AS addr,
               JSONExtractUInt(event, ${CONN('conn', 'remote', 'port')}) AS port,
               JSONExtractUInt(event, ${CONN('conn', 'count')}) AS n,
               JSONExtractFloat(event, ${CONN('conn', 'durationMs')}) AS longest,
               JSONExtractFloat(event, ${CONN('conn', 'totalDurationMs')}) AS total,
               toUInt64OrZero(JSONExtractString(event, ${CONN('conn', 'firstTs')})) AS first,
               toUInt64OrZero(JSONExtractString(event, ${CONN('conn', 'lastTs')})) AS last
        FROM events WHERE ${where.join(' AND ')}
        LIMIT 1 BY id
      )
      GROUP BY host, job, pid, comm, exe, family, addr, port
      ORDER BY host, job, connections DESC, pid, addr, port
      LIMIT {limit:UInt32}`,
    query_params: params,
    format: 'JSONEachRow',
  });
  const raw = await rs.json<Record<string, unknown>>();
  const rows: EgressRow[] = [];
  for (const r of raw.slice(0, f.limit)) {
    const row = EgressRow.safeParse({
      ...r,
      job: r.job === '' ? null : r.job,
      pid: Number(r.pid),
      port: Number(r.port),
      connections: Number(r.connections),
      closed: Number(r.closed),
      longestMs: r.longestMs === null ? null : Number(r.longestMs),
      totalMs: r.totalMs === null ? null : Number(r.totalMs),
    });
    // A stored event whose fields do not make a row (a hostile family string) is left out, not forged.
    if (row.success) rows.push(row.data);
  }
  return { rows, rowsTruncated: raw.length > f.limit };
}
