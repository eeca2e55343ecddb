import { nowNs } from '@vigil/schema';
import type { ReceivedHeartbeat } from '../../../ingest/heartbeats.js';
import type { AnyDetection } from '../../define.js';
import type { RaiseHealth } from './index.js';

export const SENSOR_SILENT: AnyDetection = {
  id: 'sensor.silent',
  title: 'Sensor went silent',
  severity: 'critical',
  mitre: ['T1562.001'],
  on: [],
  description: 'A sensor whose heartbeat stopped (killed, stopped, or cut off from NATS).',
  match: () => null,
};

export const SENSOR_STOPPED: AnyDetection = {
  id: 'sensor.stopped',
  title: 'Sensor stopped',
  severity: 'medium',
  mitre: ['T1562.001'],
  on: [],
  description:
    'A sensor stopped in order (its process was told to stop, by an operator or by anyone with root there): nothing on that host is traced until it starts again.',
  match: () => null,
};

/** A sensor without a heartbeat for this long is silent, unless told otherwise. */
export const DEFAULT_SILENT_AFTER_MS = 30_000;

export interface SilenceWatchOptions {
  silentAfterMs: number;
  /** When this control plane started (ms): what came before is history. */
  startedMs: number;
}

/**
 * Raises sensor.silent once per silence and sensor.stopped once per stop in order. Silence is judged
 * by when each heartbeat was received (this control plane's clock), not by the time it claims.
 */
export class SilenceWatch {
  private readonly silent = new Set<string>();
  /** The stopping heartbeat last seen per host. */
  private readonly stoppedTold = new Map<string, string>();

  constructor(private readonly opts: SilenceWatchOptions) {}

  check(heartbeats: Iterable<ReceivedHeartbeat>, now: number, raise: RaiseHealth): void {
    for (const received of heartbeats) {
      if (received.heartbeat.stopping) this.checkStopped(received, raise);
      else this.checkSilent(received, now, raise);
    }
  }

  private checkStopped({ heartbeat: hb, receivedMs }: ReceivedHeartbeat, raise: RaiseHealth): void {
    // Stopped in order: not silent. Told once per stop; a stop from before this control plane
    // started (its heartbeat read back from storage) is history, like earlier probe restarts.
    this.silent.delete(hb.host);
    if (this.stoppedTold.get(hb.host) === hb.ts) return;
    this.stoppedTold.set(hb.host, hb.ts);
    if (receivedMs < this.opts.startedMs) return;
    raise(SENSOR_STOPPED, hb.host, hb.ts, {
      reason: `the sensor on ${hb.host} stopped in order (its process was told to stop) after ${hb.counters.eventsPublished} events published; nothing there is traced until it starts again`,
      subject: hb.startedTs,
    });
  }

  private checkSilent({ heartbeat: hb, receivedMs }: ReceivedHeartbeat, now: number, raise: RaiseHealth): void {
    // A heartbeat read back from storage gets `silentAfterMs` from this control plane's start: under
    // `vigil up` the control plane starts before its sensor, which then had no time to report.
    const ageMs = now - Math.max(receivedMs, this.opts.startedMs);
    if (ageMs <= this.opts.silentAfterMs) {
      this.silent.delete(hb.host);
      return;
    }
    if (this.silent.has(hb.host)) return;
    this.silent.add(hb.host);
    raise(SENSOR_SILENT, hb.host, nowNs(), {
      reason: `no heartbeat from the sensor on ${hb.host} for ${Math.round(ageMs / 1000)} s (last received at ${new Date(receivedMs).toISOString()}, ${hb.counters.eventsPublished} events published): stopped, killed, or cut off`,
    });
  }
}
