import type { NatsConnection, Subscription } from 'nats';
import type { Logger } from 'pino';
import { DEFAULT_MAX_HOSTS, HeartbeatV1, heartbeatSubject, MAX_HEARTBEAT_BYTES, MAX_JSON_DEPTH } from '@vigil/schema';
import { scanJson } from './json-scan.js';
import type { HeartbeatStore, HeartbeatStoreStats } from './heartbeat-store.js';

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

/** Why a heartbeat was not taken. */
export type HeartbeatRejectReason =
  | 'oversized'
  | 'too-deep'
  | 'not-json'
  | 'schema'
  | 'host-mismatch'
  | 'too-many-hosts'
  | 'replayed';

/**
 * The CPU a sensor used between two of its heartbeats, in cores (1 = one core busy throughout): its
 * process and its bpftrace processes, over the time between them by its own clock. Undefined when
 * they come from different runs of the sensor, carry no CPU, or lie less than a second apart.
 */
export function sensorCpuCores(prev: HeartbeatV1 | undefined, hb: HeartbeatV1): number | undefined {
  const cpu = (h: HeartbeatV1) =>
    h.footprint?.processCpuSeconds === undefined || h.footprint.probeCpuSeconds === undefined
      ? undefined
      : h.footprint.processCpuSeconds + h.footprint.probeCpuSeconds;
  if (!prev || !sameRun(prev, hb)) return undefined;
  const [a, b] = [cpu(prev), cpu(hb)];
  const seconds = Number(BigInt(hb.ts) - BigInt(prev.ts)) / 1e9;
  if (a === undefined || b === undefined || b < a || seconds < 1) return undefined;
  return (b - a) / seconds;
}

const sameRun = (a: HeartbeatV1, b: HeartbeatV1): boolean => a.startedTs === b.startedTs && a.sensorPid === b.sensorPid;

/**
 * Whether `hb` comes after `prev` from the same host: later in the same sensor run (by its number, or
 * its time for a sensor that does not number them), or from a run started later. A copy of an earlier
 * heartbeat, re-published to make a killed sensor look alive or stopped in order, is not. A sensor
 * restarted after its host's clock stepped back past its previous start is not either, until that
 * clock catches up: it is counted as `replayed` and looks silent meanwhile.
 */
export function isNewer(prev: HeartbeatV1, hb: HeartbeatV1): boolean {
  if (!sameRun(prev, hb)) return BigInt(hb.startedTs) > BigInt(prev.startedTs);
  if (prev.seq !== undefined) return hb.seq !== undefined && hb.seq > prev.seq;
  return BigInt(hb.ts) > BigInt(prev.ts);
}

export interface HeartbeatOptions {
  /** Hosts tracked at most (DEFAULT_MAX_HOSTS): a heartbeat from one more is refused as `too-many-hosts`. */
  maxHosts?: number;
}

/**
 * A host unheard of for this long is forgotten when room is needed for another, and not read back
 * after a restart: its silence was told by then.
 */
export const FORGET_AFTER_HOURS = 24;

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Keeps the newest heartbeat of every sensor, in memory and in ClickHouse (for restarts), for at most
 * `maxHosts` hosts. A host is known from its first heartbeat within that bound; a heartbeat is taken
 * only when it is newer than the host's last one (isNewer). What is refused is counted by reason.
 */
export class HeartbeatTracker {
  /** The last heartbeat taken from each host. */
  readonly latest = new Map<string, ReceivedHeartbeat>();
  readonly rejects: Partial<Record<HeartbeatRejectReason, number>> = {};
  readonly maxHosts: number;
  /** Hosts whose present silence an earlier run of the control plane raised sensor.silent for already. */
  private readonly silenceTold = new Set<string>();
  private sub: Subscription | null = null;

  constructor(
    private readonly store: HeartbeatStore,
    private readonly log: Logger,
    opts: HeartbeatOptions = {},
  ) {
    this.maxHosts = opts.maxHosts ?? DEFAULT_MAX_HOSTS;
  }

  /**
   * The newest heartbeats stored by an earlier run, of the hosts heard from within FORGET_AFTER_HOURS
   * (maxHosts at most); best effort (storage may be away at start).
   */
  async load(): Promise<void> {
    try {
      for (const { heartbeat, receivedMs } of await this.store.loadRecent(FORGET_AFTER_HOURS, this.maxHosts)) {
        this.latest.set(heartbeat.host, { heartbeat, receivedMs });
      }
      for (const [host, raisedMs] of await this.store.silenceRaised(FORGET_AFTER_HOURS)) {
        const r = this.latest.get(host);
        if (r && raisedMs > r.receivedMs && !r.heartbeat.stopping) this.silenceTold.add(host);
      }
    } catch (err) {
      this.log.warn({ err }, 'stored heartbeats not loaded');
    }
  }

  /** How storing heartbeats goes. */
  get storage(): HeartbeatStoreStats {
    return this.store.stats;
  }

  /** What the sensor-health detections judge: every host, less those whose silence was raised before a restart. */
  *forDetections(): Iterable<ReceivedHeartbeat> {
    for (const [host, r] of this.latest) if (!this.silenceTold.has(host)) yield r;
  }

  subscribe(nc: NatsConnection): void {
    this.sub = nc.subscribe(heartbeatSubject('*'), {
      callback: (err, msg) => {
        if (err) return;
        try {
          this.take(msg.subject, msg.data);
        } catch (e) {
          this.log.error({ err: e }, 'heartbeat handling failed');
        }
      },
    });
  }

  /** A heartbeat message as received: taken (null), or refused with the reason (counted). */
  take(subject: string, data: Uint8Array, receivedMs = Date.now()): HeartbeatRejectReason | null {
    const reason = this.check(subject, data, receivedMs);
    if (reason) this.rejects[reason] = (this.rejects[reason] ?? 0) + 1;
    return reason;
  }

  private check(subject: string, data: Uint8Array, receivedMs: number): HeartbeatRejectReason | null {
    if (data.byteLength > MAX_HEARTBEAT_BYTES) return 'oversized';
    if (scanJson(data, MAX_JSON_DEPTH).tooDeep) return 'too-deep';
    let raw: unknown;
    try {
      raw = JSON.parse(decoder.decode(data));
    } catch {
      return 'not-json';
    }
    const parsed = HeartbeatV1.safeParse(raw);
    if (!parsed.success) return 'schema';
    const hb = parsed.data;
    if (subject !== heartbeatSubject(hb.host)) return 'host-mismatch';
    const prev = this.latest.get(hb.host);
    if (!prev && !this.roomFor(receivedMs)) return 'too-many-hosts';
    if (prev && !isNewer(prev.heartbeat, hb)) return 'replayed';
    this.record(hb, receivedMs);
    return null;
  }

  /** Whether one more host fits; when not, hosts unheard of for FORGET_AFTER_HOURS make room. */
  private roomFor(nowMs: number): boolean {
    if (this.latest.size < this.maxHosts) return true;
    for (const [host, r] of this.latest) {
      if (nowMs - r.receivedMs > FORGET_AFTER_HOURS * 3_600_000) {
        this.latest.delete(host);
        this.silenceTold.delete(host);
      }
    }
    return this.latest.size < this.maxHosts;
  }

  /** A heartbeat taken: the host's latest, and queued for storage (memory keeps it either way). */
  record(hb: HeartbeatV1, receivedMs = Date.now()): void {
    const cpuCores = sensorCpuCores(this.latest.get(hb.host)?.heartbeat, hb);
    this.latest.set(hb.host, { heartbeat: hb, receivedMs, ...(cpuCores !== undefined ? { cpuCores } : {}) });
    this.silenceTold.delete(hb.host);
    this.store.add(hb, receivedMs);
  }

  async stop(): Promise<void> {
    this.sub?.unsubscribe();
    await this.store.close();
  }
}
