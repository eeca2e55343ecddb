import type { HeartbeatV1 } from '@vigil/schema';
import type { AnyDetection } from '../../define.js';
import type { RaiseHealth } from './index.js';

export const SENSOR_PROBE_RESTART: AnyDetection = {
  id: 'sensor.probe-restart',
  title: 'Sensor probe restarted',
  severity: 'high',
  mitre: ['T1562.001'],
  on: [],
  description: 'A bpftrace probe exited (killed, crashed) and was restarted: what happened in the gap was not seen.',
  match: () => null,
};

/** A probe still down this long after a restart counted is told without waiting for it to be back. */
const TELL_DOWN_AFTER_MS = 30_000;

type Probe = HeartbeatV1['probes'][number];
interface Due {
  p: Probe;
  /** Running again, with the times that bound its blind gap. */
  back: boolean;
}

/**
 * Raises sensor.probe-restart from heartbeats: once per restart a probe's heartbeat counts, when the
 * probe is back (the blind gap is known then) or has stayed down 30 s. The first heartbeat seen of a
 * probe sets the baseline: restarts before the control plane started are history.
 */
export class ProbeRestartWatch {
  /** Per host, the restarts last told of each probe its heartbeat lists (only those). */
  private readonly told = new Map<string, Map<string, number>>();
  /** Per host and probe, since when (ms) it has been seen down with a restart not yet told. */
  private readonly downSince = new Map<string, Map<string, number>>();

  check(heartbeats: Iterable<HeartbeatV1>, now: number, raise: RaiseHealth): void {
    for (const hb of heartbeats) tell(hb, this.due(hb, now), raise);
  }

  private due(hb: HeartbeatV1, now: number): Due[] {
    const told = perHost(this.told, hb.host);
    const down = perHost(this.downSince, hb.host);
    // What a heartbeat no longer lists is forgotten: names a forged heartbeat made up stay nowhere.
    const listed = new Set(hb.probes.map((p) => p.name));
    for (const m of [told, down]) for (const name of m.keys()) if (!listed.has(name)) m.delete(name);
    const due: Due[] = [];
    for (const p of hb.probes) {
      const seen = told.get(p.name);
      if (seen === undefined) {
        told.set(p.name, p.restarts);
        continue;
      }
      if (p.restarts <= seen) continue;
      const back = p.state === 'running' && p.lastExitTs !== undefined && p.lastRestartTs !== undefined;
      const downSince = down.get(p.name) ?? now;
      down.set(p.name, downSince);
      if (!back && now - downSince < TELL_DOWN_AFTER_MS) continue;
      told.set(p.name, p.restarts);
      down.delete(p.name);
      due.push({ p, back });
    }
    return due;
  }
}

/** Probes composed into one bpftrace process stop together: one alert for the process. */
function tell(hb: HeartbeatV1, due: Due[], raise: RaiseHealth): void {
  const groups = new Map<string, Due[]>();
  for (const d of due) {
    const k = d.p.lastExitTs ? `exit:${d.p.lastExitTs}` : `down:${d.p.name}`;
    groups.set(k, [...(groups.get(k) ?? []), d]);
  }
  for (const group of groups.values()) {
    const { p, back } = group[0]!;
    const others = group.slice(1).map((d) => d.p.name);
    // Blind from the last flush read before the exit (or the stall before it), not from the exit.
    const gap = back
      ? ` blind for ${(Number(BigInt(p.lastRestartTs!) - BigInt(p.blindFromTs ?? p.lastExitTs!)) / 1e9).toFixed(1)} s;`
      : ' not running again after 30 s;';
    const shared = others.length ? ` (with ${others.join(', ')}: one bpftrace process)` : '';
    raise(SENSOR_PROBE_RESTART, hb.host, p.lastExitTs ?? hb.ts, {
      reason:
        `probe ${p.name}${shared} on ${hb.host} stopped${back ? ' and was restarted' : ''} (${p.restarts} restarts so far);${gap} ${p.lastError ?? ''}`.trim(),
      subject: `probe:${[p.name, ...others].join(',')}`,
    });
  }
}

function perHost<V>(map: Map<string, Map<string, V>>, host: string): Map<string, V> {
  let m = map.get(host);
  if (!m) map.set(host, (m = new Map()));
  return m;
}
