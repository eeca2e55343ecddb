import type { HeartbeatV1 } from '@vigil/schema';
import type { ReceivedHeartbeat } from '../../../ingest/heartbeats.js';
import type { AnyDetection } from '../../define.js';
import type { RaiseHealth } from './index.js';
import { iso, perHost } from './blind.js';

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
/** One stall to tell: still open (`toTs` null) or resumed between two heartbeats. */
interface Stall {
  p: Probe;
  fromTs: string | undefined;
  toTs: string | null;
}

/**
 * Raises sensor.probe-stalled from heartbeats: once per stall a probe's heartbeat counts (each stall
 * that resumed between two heartbeats too, from the blind intervals it lists), and for a probe first
 * seen stalled. Each alert's subject is its stall's start, so the throttle folds none into another.
 * Stalls counted before the first heartbeat seen of a probe are history, as are heartbeats received
 * before the engine started.
 */
export class ProbeStallWatch {
  /** Per host, the stalls last told of each probe its heartbeat lists (only those). */
  private readonly told = new Map<string, Map<string, number>>();
  /** Per host and probe, the start of the last stall told (ns). */
  private readonly toldFrom = new Map<string, Map<string, bigint>>();

  /** `startedMs`: when this control plane started (ms). */
  constructor(private readonly startedMs: number) {}

  check(heartbeats: Iterable<ReceivedHeartbeat>, raise: RaiseHealth): void {
    for (const { heartbeat: hb, receivedMs } of heartbeats) {
      const told = perHost(this.told, hb.host);
      const toldFrom = perHost(this.toldFrom, hb.host);
      // What a heartbeat no longer lists is forgotten: names a forged heartbeat made up stay nowhere.
      const listed = new Set(hb.probes.map((p) => p.name));
      for (const m of [told, toldFrom]) for (const name of m.keys()) if (!listed.has(name)) m.delete(name);
      const due: Stall[] = [];
      for (const p of hb.probes) {
        const stalls = p.stalls ?? 0;
        const seen = told.get(p.name);
        told.set(p.name, Math.max(stalls, seen ?? 0));
        const open = p.state === 'stalled' && p.blindFromTs !== undefined ? [p.blindFromTs] : [];
        const starts = [...(p.recentBlinds ?? []).map((b) => b.fromTs), ...open];
        const after = toldFrom.get(p.name) ?? -1n;
        if (starts.length)
          toldFrom.set(
            p.name,
            starts.reduce((m, t) => (BigInt(t) > m ? BigInt(t) : m), after),
          );
        if (!(seen === undefined ? p.state === 'stalled' && receivedMs >= this.startedMs : stalls > seen)) continue;
        // First seen: only the stall open now is news; after that, every stall that began since the last told.
        const resumed = seen === undefined ? [] : (p.recentBlinds ?? []).filter((b) => b.cause === 'stall');
        const fresh: Stall[] = resumed
          .filter((b) => BigInt(b.fromTs) > after)
          .map((b) => ({ p, fromTs: b.fromTs, toTs: b.toTs }));
        if (p.state === 'stalled' && (p.blindFromTs === undefined || BigInt(p.blindFromTs) > after))
          fresh.push({ p, fromTs: p.blindFromTs, toTs: null });
        // A sensor that lists no intervals: one alert for what the counts say.
        due.push(...(fresh.length ? fresh : [{ p, fromTs: p.blindFromTs, toTs: null }]));
      }
      tell(hb, due, raise);
    }
  }
}

/** Probes composed into one bpftrace process stall together: one alert per stall for the process. */
function tell(hb: HeartbeatV1, due: Stall[], raise: RaiseHealth): void {
  const groups = new Map<string, Stall[]>();
  for (const d of due) {
    const k = `${d.p.pid ?? d.p.name}|${d.fromTs ?? ''}`;
    groups.set(k, [...(groups.get(k) ?? []), d]);
  }
  for (const [first, ...others] of groups.values()) {
    const { p, fromTs, toTs } = first!;
    const shared = others.length ? ` (with ${others.map((o) => o.p.name).join(', ')}: one bpftrace process)` : '';
    const since = fromTs ? ` since ${iso(fromTs)}` : '';
    const now =
      toTs === null
        ? p.state === 'stalled'
          ? `stalled: no output${since}`
          : `stalled${since} and resumed`
        : `stalled${since} and resumed at ${iso(toTs)}`;
    raise(SENSOR_PROBE_STALLED, hb.host, fromTs ?? hb.ts, {
      reason: `probe ${p.name}${shared} on ${hb.host} ${now} (${p.stalls ?? 1} stalls so far)${toTs === null && p.lastError ? `; ${p.lastError}` : ''}`,
      // Each stall its own subject: a probe frozen again within the throttle window raises again.
      subject: `probe:${[p.name, ...others.map((o) => o.p.name)].join(',')}@${fromTs ?? hb.ts}`,
    });
  }
}
