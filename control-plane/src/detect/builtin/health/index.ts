import type { ReceivedHeartbeat } from '../../../ingest/heartbeats.js';
import type { AnyDetection, Finding } from '../../define.js';
import { ProbeRestartWatch, SENSOR_PROBE_RESTART } from './probe-restart.js';
import { ProbeStallWatch, SENSOR_PROBE_STALLED } from './probe-stall.js';
import { DEFAULT_SILENT_AFTER_MS, SENSOR_SILENT, SENSOR_STOPPED, SilenceWatch } from './silence.js';

export { SENSOR_PROBE_RESTART, SENSOR_PROBE_STALLED, SENSOR_SILENT, SENSOR_STOPPED };

/** The sensor-health built-ins by id: raised from the sensors' heartbeats, not matched on events. */
export const SENSOR_HEALTH_DETECTIONS = {
  'sensor.silent': SENSOR_SILENT,
  'sensor.stopped': SENSOR_STOPPED,
  'sensor.probe-restart': SENSOR_PROBE_RESTART,
  'sensor.probe-stalled': SENSOR_PROBE_STALLED,
} as const satisfies Record<string, AnyDetection>;

/** How a sensor-health watch raises an alert: about a host, not a process. */
export type RaiseHealth = (detection: AnyDetection, host: string, ts: string, finding: Finding) => void;

export interface SensorHealthOptions {
  /** A sensor without a heartbeat for this long raises sensor.silent. */
  silentAfterMs?: number;
  /** When this control plane started (ms): heartbeats received before are history. */
  startedMs: number;
  raise: RaiseHealth;
}

/** Runs the sensor-health detections over the latest heartbeat of each host. */
export class SensorHealth {
  private readonly silence: SilenceWatch;
  private readonly restarts = new ProbeRestartWatch();
  private readonly stalls: ProbeStallWatch;

  constructor(private readonly opts: SensorHealthOptions) {
    this.silence = new SilenceWatch({
      silentAfterMs: opts.silentAfterMs ?? DEFAULT_SILENT_AFTER_MS,
      startedMs: opts.startedMs,
    });
    this.stalls = new ProbeStallWatch(opts.startedMs);
  }

  check(heartbeats: Iterable<ReceivedHeartbeat>, now: number): void {
    const list = [...heartbeats];
    this.silence.check(list, now, this.opts.raise);
    this.restarts.check(
      list.map((r) => r.heartbeat),
      now,
      this.opts.raise,
    );
    this.stalls.check(list, this.opts.raise);
  }
}
