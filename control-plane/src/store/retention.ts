import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from 'pino';
import { durationToMs, type TableRetention, type VigilConfigV1 } from '@vigil/schema';

/**
 * vigil.yaml's `retention:` applied to the tables: each one's TTL, and the window of claimed times it
 * stores as claimed (claimed-time.ts; older or later claims are stored at the insert's time). The
 * window is the TTL less a day (half the TTL when that is under two days), so no row is stored only to
 * expire at once, and at most what the partitioning allows one insert to touch: 29 days of events'
 * daily partitions, 179 days of alerts' monthly ones (migrations 0010, 0011).
 */

const DAY_S = 86_400;

interface TableSpec {
  /** The TTL the migrations give the table. */
  defaultSeconds: number;
  maxClaimSeconds: number;
  /** The nanosecond timestamp the row claims, as SQL over the row's other columns. */
  claimedNs: string;
}

const TABLES = {
  events: { defaultSeconds: 30 * DAY_S, maxClaimSeconds: 29 * DAY_S, claimedNs: "tupleElement(parsed, 'ts')" },
  alerts: { defaultSeconds: 180 * DAY_S, maxClaimSeconds: 179 * DAY_S, claimedNs: 'ts_ns' },
} as const satisfies Record<string, TableSpec>;
export type RetainedTable = keyof typeof TABLES;

/** What each table keeps under this configuration (its defaults where it says nothing). */
export function retentionOf(cfg: VigilConfigV1['retention']): Record<RetainedTable, TableRetention> {
  const of = (table: RetainedTable, text: string | undefined): TableRetention => {
    const spec = TABLES[table];
    const ttlSeconds = text === undefined ? spec.defaultSeconds : Math.max(1, Math.round(durationToMs(text) / 1000));
    const margin = Math.min(DAY_S, Math.floor(ttlSeconds / 2));
    return { ttlSeconds, claimSeconds: Math.min(spec.maxClaimSeconds, ttlSeconds - margin) };
  };
  return { events: of('events', cfg?.events), alerts: of('alerts', cfg?.alerts) };
}

/** The TTL in seconds the table has now, read from its definition; null when it has none this code knows. */
async function currentTtlSeconds(ch: ClickHouseClient, table: RetainedTable): Promise<number | null> {
  const rs = await ch.query({
    query: 'SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = {table:String}',
    query_params: { table },
    format: 'JSONEachRow',
  });
  const [row] = await rs.json<{ engine_full: string }>();
  const m = /TTL toDateTime\(ts\) \+ toInterval(Second|Day)\((\d+)\)/.exec(row?.engine_full ?? '');
  if (!m) return null;
  return Number(m[2]) * (m[1] === 'Day' ? DAY_S : 1);
}

/**
 * Sets each table's TTL and claim window to `r` where its TTL differs (an unchanged one is left alone:
 * a TTL change rewrites the table's parts in the background, dropping what is now too old). Returns
 * the tables changed.
 */
export async function applyRetention(
  ch: ClickHouseClient,
  r: Record<RetainedTable, TableRetention>,
  log: Logger,
): Promise<RetainedTable[]> {
  const changed: RetainedTable[] = [];
  for (const table of Object.keys(TABLES) as RetainedTable[]) {
    const want = r[table];
    const now = await currentTtlSeconds(ch, table);
    if (now === want.ttlSeconds) continue;
    const claimed = `fromUnixTimestamp64Nano(toInt64OrNull(${TABLES[table].claimedNs}), 'UTC')`;
    await ch.command({
      query: `ALTER TABLE ${table} MODIFY COLUMN ts DEFAULT if(
        ifNull(${claimed} BETWEEN now64(9, 'UTC') - INTERVAL ${want.claimSeconds} SECOND AND now64(9, 'UTC') + INTERVAL 1 DAY, 0),
        ${claimed}, now64(9, 'UTC'))`,
    });
    await ch.command({ query: `ALTER TABLE ${table} MODIFY TTL toDateTime(ts) + INTERVAL ${want.ttlSeconds} SECOND` });
    log.info({ table, ttlSeconds: want.ttlSeconds, was: now }, 'retention applied');
    changed.push(table);
  }
  return changed;
}
