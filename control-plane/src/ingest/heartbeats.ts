import type { ClickHouseClient } from '@clickhouse/client';
import type { NatsConnection, Subscription } from 'nats';
import type { Logger } from 'pino';
import { HeartbeatV1 } from '@vigil/schema';
import { insertRows } from '../store/row-insert.js';

/** Keeps the newest heartbeat of every sensor, in memory and in ClickHouse (for restarts). */
export class HeartbeatTracker {
  readonly latest = new Map<string, HeartbeatV1>();
  rejects = 0;
  private sub: Subscription | null = null;

  constructor(private readonly ch: ClickHouseClient, private readonly reader: ClickHouseClient, private readonly log: Logger) {}

  /** Heartbeats stored by an earlier run; best effort (storage may be away at start). */
  async load(): Promise<void> {
    try {
      await this.loadStored();
    } catch (err) {
      this.log.warn({ err }, 'stored heartbeats not loaded');
    }
  }

  private async loadStored(): Promise<void> {
    const rs = await this.reader.query({
      query: 'SELECT heartbeat FROM sensor_heartbeats ORDER BY ts DESC LIMIT 1 BY host',
      format: 'JSONEachRow',
    });
    for (const row of await rs.json<{ heartbeat: string }>()) {
      const hb = HeartbeatV1.safeParse(JSON.parse(row.heartbeat));
      if (hb.success) this.latest.set(hb.data.host, hb.data);
    }
  }

  subscribe(nc: NatsConnection): void {
    this.sub = nc.subscribe('vigil.sensor.*.heartbeat', {
      callback: (err, msg) => {
        if (err) return;
        let hb;
        try {
          hb = HeartbeatV1.safeParse(JSON.parse(msg.string()));
        } catch {
          this.rejects++;
          return;
        }
        if (!hb.success || msg.subject !== `vigil.sensor.${hb.data.host}.heartbeat`) { this.rejects++; return; }
        this.latest.set(hb.data.host, hb.data);
        // ts is derived by the table from ts_ns (migrations 0008-0009).
        insertRows(this.ch, 'sensor_heartbeats', [{ host: hb.data.host, ts_ns: hb.data.ts, heartbeat: JSON.stringify(hb.data) }])
          .catch((e: unknown) => this.log.warn({ err: e }, 'heartbeat not stored'));
      },
    });
  }

  stop(): void {
    this.sub?.unsubscribe();
  }
}
