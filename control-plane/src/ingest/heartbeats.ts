import type { ClickHouseClient } from '@clickhouse/client';
import type { NatsConnection, Subscription } from 'nats';
import type { Logger } from 'pino';
import { HeartbeatV1 } from '@vigil/schema';
import { insertRows } from '../store/row-insert.js';
import { wellFormedJson } from '../store/well-formed-json.js';

/**
 * A sensor's heartbeat and when this control plane received it, by its own clock (ms): what says how
 * long a sensor has been silent. The time a heartbeat claims is the sensor host's clock, which may be
 * off (a host a minute behind looked silent all the time) or forged (one claiming next year kept a
 * killed sensor from ever looking silent).
 */
export interface ReceivedHeartbeat {
  heartbeat: HeartbeatV1;
  receivedMs: number;
  /** CPU the sensor used between its previous heartbeat and this one, in cores (see sensorCpuCores). */
  cpuCores?: number;
}

/**
 * The CPU a sensor used between two of its heartbeats, in cores (1 = one core busy throughout): its
 * process and its bpftrace processes, over the time between them by its own clock. Undefined when
 * they come from different runs of the sensor, carry no CPU, or lie less than a second apart.
 */
export function sensorCpuCores(prev: HeartbeatV1 | undefined, hb: HeartbeatV1): number | undefined {
  const cpu = (h: HeartbeatV1) => (h.footprint?.processCpuSeconds === undefined || h.footprint.probeCpuSeconds === undefined ? undefined : h.footprint.processCpuSeconds + h.footprint.probeCpuSeconds);
  if (!prev || prev.startedTs !== hb.startedTs || prev.sensorPid !== hb.sensorPid) return undefined;
  const [a, b] = [cpu(prev), cpu(hb)];
  const seconds = Number(BigInt(hb.ts) - BigInt(prev.ts)) / 1e9;
  if (a === undefined || b === undefined || b < a || seconds < 1) return undefined;
  return (b - a) / seconds;
}

/** ClickHouse's DateTime64 text, UTC: what a JSONEachRow insert reads without best-effort parsing. */
const dateTimeText = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

/** Keeps the newest heartbeat of every sensor, in memory and in ClickHouse (for restarts). */
export class HeartbeatTracker {
  /** The last heartbeat received from each host. */
  readonly latest = new Map<string, ReceivedHeartbeat>();
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
      // The last received, not the latest claimed (see ReceivedHeartbeat); rows from before
      // migration 0012 read their ts as received_at.
      query: 'SELECT heartbeat, toUnixTimestamp64Milli(received_at) AS received_ms FROM sensor_heartbeats ORDER BY received_at DESC LIMIT 1 BY host',
      format: 'JSONEachRow',
    });
    for (const row of await rs.json<{ heartbeat: string; received_ms: string | number }>()) {
      const hb = HeartbeatV1.safeParse(JSON.parse(row.heartbeat));
      if (hb.success) this.latest.set(hb.data.host, { heartbeat: hb.data, receivedMs: Number(row.received_ms) });
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
        void this.record(hb.data);
      },
    });
  }

  /** A heartbeat just received: the host's latest, and stored (best effort: memory keeps it either way). */
  async record(hb: HeartbeatV1, receivedMs = Date.now()): Promise<void> {
    const cpuCores = sensorCpuCores(this.latest.get(hb.host)?.heartbeat, hb);
    this.latest.set(hb.host, { heartbeat: hb, receivedMs, ...(cpuCores !== undefined ? { cpuCores } : {}) });
    try {
      // ts is derived by the table from ts_ns (migrations 0008-0009).
      await insertRows(this.ch, 'sensor_heartbeats', [{ host: hb.host, ts_ns: hb.ts, received_at: dateTimeText(receivedMs), heartbeat: wellFormedJson(hb) }]);
    } catch (err) {
      this.log.warn({ err }, 'heartbeat not stored');
    }
  }

  stop(): void {
    this.sub?.unsubscribe();
  }
}
