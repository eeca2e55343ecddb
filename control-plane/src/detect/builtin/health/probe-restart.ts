import type { BlindIntervalV1, HeartbeatV1 } from '@vigil/schema';
import type { AnyDetection } from '../../define.js';
import type { RaiseHealth } from './index.js';
import { iso, perHost } from './blind.js';

export const SENSOR_PROBE_RESTART: AnyDetection = {
  id: 'sensor.probe-restart',
  title: 'Sensor probe restarted',
  severity: 'high',
  mitre: ['T1562.001'],
  on: [],
  description:
    'A bpftrace probe exited (killed, crashed) and was restarted: what happened in its blind interval (from its last complete output to the new attach) was not seen, except the processes still running from it, which the sensor recovers from /proc. One alert per restart.',
  match: () => null,
};

/** A probe still down this long after a restart counted is told without waiting for it to be back. */
const TELL_DOWN_AFTER_MS = 30_000;

type Probe = HeartbeatV1['probes'][number];
interface Due {
  p: Probe;
  /** Running again, with the times that bound its blind gap. */
  back: boolean;
  /** The blind interval the restart closed, when the sensor lists them. */
  blind?: BlindIntervalV1;
}

/**
 * Raises sensor.probe-restart from heartbeats: once per restart, when the probe is back (the blind
 * interval is known then) or has stayed down 30 s. Restarts between two heartbeats each raise, from
 * the blind intervals the heartbeat lists; each alert's subject is its interval, so the throttle folds
 * none of them into another. The first heartbeat seen of a probe sets the baseline: restarts before
 * the control plane started are history.
 */
export class ProbeRestartWatch {
  /** Per host, the restarts last told of each probe its heartbeat lists (only those). */
  private readonly told = new Map<string, Map<string, number>>();
  /** Per host and probe, the end of the last blind interval told (ns). */
  private readonly toldTo = new Map<string, Map<string, bigint>>();
  /** Per host and probe, since when (ms) it has been seen down with a restart not yet told. */
  private readonly downSince = new Map<string, Map<string, number>>();

  check(heartbeats: Iterable<HeartbeatV1>, now: number, raise: RaiseHealth): void {
    for (const hb of heartbeats) tell(hb, this.due(hb, now), raise);
  }

  private due(hb: HeartbeatV1, now: number): Due[] {
    const told = perHost(this.told, hb.host);
    const toldTo = perHost(this.toldTo, hb.host);
    const down = perHost(this.downSince, hb.host);
    // What a heartbeat no longer lists is forgotten: names a forged heartbeat made up stay nowhere.
    const listed = new Set(hb.probes.map((p) => p.name));
    for (const m of [told, toldTo, down]) for (const name of m.keys()) if (!listed.has(name)) m.delete(name);
    const due: Due[] = [];
    for (const p of hb.probes) {
      const exits = (p.recentBlinds ?? []).filter((b) => b.cause === 'exit');
      const seen = told.get(p.name);
      if (seen === undefined) {
        told.set(p.name, p.restarts);
        toldTo.set(
          p.name,
          exits.reduce((m, b) => (BigInt(b.toTs) > m ? BigInt(b.toTs) : m), 0n),
        );
        continue;
      }
      if (p.restarts <= seen) continue;
      const back = p.state === 'running' && p.lastExitTs !== undefined && p.lastRestartTs !== undefined;
      const downSince = down.get(p.name) ?? now;
      down.set(p.name, downSince);
      if (!back && now - downSince < TELL_DOWN_AFTER_MS) continue;
      told.set(p.name, p.restarts);
      down.delete(p.name);
      const after = toldTo.get(p.name) ?? 0n;
      const fresh = back ? exits.filter((b) => BigInt(b.toTs) > after) : [];
      if (fresh.length === 0) {
        due.push({ p, back });
        continue;
      }
      for (const blind of fresh) due.push({ p, back, blind });
      toldTo.set(p.name, BigInt(fresh.at(-1)!.toTs));
    }
    return due;
  }
}

/** Probes composed into one bpftrace process stop together: one alert per interval for the process. */
function tell(hb: HeartbeatV1, due: Due[], raise: RaiseHealth): void {
  const groups = new Map<string, Due[]>();
  for (const d of due) {
    const k = d.blind
      ? `blind:${d.blind.fromTs}:${d.blind.toTs}`
      : d.p.lastExitTs
        ? `exit:${d.p.lastExitTs}`
        : `down:${d.p.name}`;
    groups.set(k, [...(groups.get(k) ?? []), d]);
  }
  for (const group of groups.values()) {
    const { p, back, blind } = group[0]!;
    const others = group.slice(1).map((d) => d.p.name);
    // Blind from the last flush read before the exit (or the stall before it), not from the exit.
    const fromTs = blind?.fromTs ?? p.blindFromTs ?? p.lastExitTs;
    const toTs = blind?.toTs ?? p.lastRestartTs;
    const names = [p.name, ...others];
    const recovered = names.includes('exec')
      ? ', the processes started then and still running recovered from /proc'
      : '';
    const gap =
      back && fromTs && toTs
        ? ` blind for ${(Number(BigInt(toTs) - BigInt(fromTs)) / 1e9).toFixed(1)} s (${iso(fromTs)} to ${iso(toTs)}${recovered});`
        : ' not running again after 30 s;';
    const shared = others.length ? ` (with ${others.join(', ')}: one bpftrace process)` : '';
    const latest = !blind || blind === p.recentBlinds?.at(-1);
    raise(SENSOR_PROBE_RESTART, hb.host, blind?.fromTs ?? p.lastExitTs ?? hb.ts, {
      reason:
        `probe ${p.name}${shared} on ${hb.host} stopped${back ? ' and was restarted' : ''} (${p.restarts} restarts so far);${gap} ${latest ? (p.lastError ?? '') : ''}`.trim(),
      // Each blind interval its own subject: a kill repeated within the throttle window raises again.
      subject: `probe:${names.join(',')}@${fromTs ?? p.lastExitTs ?? hb.ts}`,
    });
  }
}
