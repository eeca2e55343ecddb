import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from 'pino';
import { HeartbeatV1 } from '@vigil/schema';
import { insertRows } from '../store/row-insert.js';
import { wellFormedJson } from '../store/well-formed-json.js';
import { SENSOR_SILENT } from '../detect/builtin/health/silence.js';

/** A heartbeat as stored: the newest per host is read back after a restart (see HeartbeatTracker.load). */
export interface StoredHeartbeat {
  heartbeat: HeartbeatV1;
  receivedMs: number;
}

export interface HeartbeatStoreStats {
  /** Heartbeats stored, and the inserts that stored them. */
  stored: number;
  inserts: number;
  /** Heartbeats not stored: more waited than PENDING_MAX while storage refused (memory keeps the newest of each host). */
  dropped: number;
  lastError: string | null;
}

/** Rows per insert at most, and the longest a heartbeat waits for company before it is stored. */
const INSERT_ROWS = 1000;
const FLUSH_MS = 1000;
/** Heartbeats waiting for storage at most; past it the oldest go (counted). */
const PENDING_MAX = 20_000;

/** ClickHouse's DateTime64 text, UTC: what a JSONEachRow insert reads without best-effort parsing. */
const dateTimeText = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

/**
 * Heartbeats in ClickHouse, written in batches (one insert per second, or per INSERT_ROWS) on a
 * session of their own: one insert per heartbeat, on the events' writer, let a flood of forged
 * heartbeats hold real events' inserts up by minutes.
 */
export class HeartbeatStore {
  readonly stats: HeartbeatStoreStats = { stored: 0, inserts: 0, dropped: 0, lastError: null };
  private pending: Record<string, unknown>[] = [];
  private flushing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly writer: ClickHouseClient,
    private readonly reader: ClickHouseClient,
    private readonly log: Logger,
  ) {}

  /** Queues a heartbeat for the next insert. */
  add(hb: HeartbeatV1, receivedMs: number): void {
    // ts is derived by the table from ts_ns (migrations 0008-0009).
    this.pending.push({
      host: hb.host,
      ts_ns: hb.ts,
      received_at: dateTimeText(receivedMs),
      heartbeat: wellFormedJson(hb),
    });
    if (this.pending.length > PENDING_MAX)
      this.stats.dropped += this.pending.splice(0, this.pending.length - PENDING_MAX).length;
    if (this.pending.length >= INSERT_ROWS) void this.flush();
    else this.schedule();
  }

  /** A flush within FLUSH_MS (close() does the last one: the timer keeps no process alive). */
  private schedule(): void {
    this.timer ??= setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, FLUSH_MS).unref();
  }

  /** Stores what waits (one insert at a time; what fails waits for the next). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const rows = this.pending.splice(0, INSERT_ROWS);
    if (rows.length === 0) return;
    this.flushing = (async () => {
      try {
        await insertRows(this.writer, 'sensor_heartbeats', rows);
        this.stats.stored += rows.length;
        this.stats.inserts++;
        this.stats.lastError = null;
      } catch (err) {
        if (this.stats.lastError !== (err as Error).message)
          this.log.warn({ err }, 'heartbeats not stored; retrying with the next');
        this.stats.lastError = (err as Error).message;
        this.pending.unshift(...rows);
        if (this.pending.length > PENDING_MAX)
          this.stats.dropped += this.pending.splice(0, this.pending.length - PENDING_MAX).length;
      }
    })();
    await this.flushing;
    this.flushing = null;
    if (this.pending.length >= INSERT_ROWS) await this.flush();
    else if (this.pending.length > 0) this.schedule();
  }

  /**
   * The newest heartbeat of the hosts heard from within `withinHours`, newest first, `maxHosts` at
   * most. The last received, not the latest claimed (see ReceivedHeartbeat); rows from before
   * migration 0012 read their ts as received_at.
   */
  async loadRecent(withinHours: number, maxHosts: number): Promise<StoredHeartbeat[]> {
    const rs = await this.reader.query({
      query: `SELECT heartbeat, toUnixTimestamp64Milli(received_at) AS received_ms FROM sensor_heartbeats
              WHERE received_at >= now64(3) - toIntervalHour({hours:UInt32})
              ORDER BY received_at DESC LIMIT 1 BY host LIMIT {hosts:UInt32}`,
      query_params: { hours: withinHours, hosts: maxHosts },
      format: 'JSONEachRow',
    });
    const out: StoredHeartbeat[] = [];
    for (const row of await rs.json<{ heartbeat: string; received_ms: string | number }>()) {
      let hb: ReturnType<typeof HeartbeatV1.safeParse>;
      try {
        hb = HeartbeatV1.safeParse(JSON.parse(row.heartbeat));
      } catch {
        continue;
      }
      if (hb.success) out.push({ heartbeat: hb.data, receivedMs: Number(row.received_ms) });
    }
    return out;
  }

  /** When sensor.silent was last raised for each host within `withinHours` (ms, this control plane's clock). */
  async silenceRaised(withinHours: number): Promise<Map<string, number>> {
    const rs = await this.reader.query({
      query: `SELECT host, toUnixTimestamp64Milli(max(ts)) AS raised_ms FROM alerts
              WHERE rule_id = {rule:String} AND ts >= now64(3) - toIntervalHour({hours:UInt32}) GROUP BY host`,
      query_params: { rule: SENSOR_SILENT.id, hours: withinHours },
      format: 'JSONEachRow',
    });
    return new Map(
      (await rs.json<{ host: string; raised_ms: string | number }>()).map((r) => [r.host, Number(r.raised_ms)]),
    );
  }

  async close(): Promise<void> {
    await this.flush();
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }
}
