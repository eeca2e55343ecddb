import type { HeartbeatV1 } from '@vigil/schema';
import type { ReceivedHeartbeat } from '../../../ingest/heartbeats.js';
import type { AnyDetection } from '../../define.js';
import type { RaiseHealth } from './index.js';

export const SENSOR_PROBE_STALLED: AnyDetection = {
  id: 'sensor.probe-stalled',
  title: 'Sensor probe stalled',
  severity: 'high',
  mitre: ['T1562.001'],
  on: [],
  description:
    'A bpftrace probe stopped printing while its process stayed (stopped by a signal or a tracer, frozen): what it traces is late, or lost if it is then killed. The sensor resumes it or restarts it.',
  match: () => null,
};

type Probe = HeartbeatV1['probes'][number];

const iso = (ts: string) => new Date(Number(BigInt(ts) / 1_000_000n)).toISOString();

/**
 * Raises sensor.probe-stalled from heartbeats: once per stall a probe's heartbeat counts (one that
 * resumed between two heartbeats too), and for a probe first seen stalled. Stalls counted before the
 * first heartbeat seen of a probe are history, as are heartbeats received before the engine started.
 */
export class ProbeStallWatch {
  /** Per host, the stalls last told of each probe its heartbeat lists (only those). */
  private readonly told = new Map<string, Map<string, number>>();

  /** `startedMs`: when this control plane started (ms). */
  constructor(private readonly startedMs: number) {}

  check(heartbeats: Iterable<ReceivedHeartbeat>, raise: RaiseHealth): void {
    for (const { heartbeat: hb, receivedMs } of heartbeats) {
      let told = this.told.get(hb.host);
      if (!told) this.told.set(hb.host, (told = new Map()));
      // What a heartbeat no longer lists is forgotten: names a forged heartbeat made up stay nowhere.
      const listed = new Set(hb.probes.map((p) => p.name));
      for (const name of told.keys()) if (!listed.has(name)) told.delete(name);
      const due: Probe[] = [];
      for (const p of hb.probes) {
        const stalls = p.stalls ?? 0;
        const seen = told.get(p.name);
        told.set(p.name, Math.max(stalls, seen ?? 0));
        if (seen === undefined ? p.state === 'stalled' && receivedMs >= this.startedMs : stalls > seen) due.push(p);
      }
      // Probes composed into one bpftrace process stall together: one alert for the process.
      const groups = new Map<string, Probe[]>();
      for (const p of due) {
        const k = `${p.pid ?? p.name}|${p.blindFromTs ?? ''}`;
        groups.set(k, [...(groups.get(k) ?? []), p]);
      }
      for (const [p, ...others] of groups.values()) {
        const shared = others.length ? ` (with ${others.map((o) => o.name).join(', ')}: one bpftrace process)` : '';
        const since = p!.blindFromTs ? ` since ${iso(p!.blindFromTs)}` : '';
        const now = p!.state === 'stalled' ? `stalled: no output${since}` : `stalled${since} and resumed`;
        raise(SENSOR_PROBE_STALLED, hb.host, p!.blindFromTs ?? hb.ts, {
          reason: `probe ${p!.name}${shared} on ${hb.host} ${now} (${p!.stalls ?? 1} stalls so far)${p!.lastError ? `; ${p!.lastError}` : ''}`,
          subject: `probe:${[p!.name, ...others.map((o) => o.name)].join(',')}`,
        });
      }
    }
  }
}
