import type { ConnEventV1 } from '@vigil/schema';
import { decodeTcpKey, type TcpDecoded } from '../decode/tcp.js';
import type { WindowEntry } from './window.js';
import type { KtimeClock } from './clock.js';

type ConnData = ConnEventV1['conn'];
type TcpFirst = Extract<TcpDecoded, { type: 'tcp.first' }>;

/** What a conn event is built from: its data, whose it is, and when (kernel ns). */
export interface ConnPart {
  ns: number;
  pid: number;
  hint: { uid?: number; cgroupId?: number; comm?: string };
  conn: ConnData;
}

const ms = (ns: number) => ns / 1e6;

/** A first sighting printed at once by probes/tcp.bt: one socket, its real ports. */
export function connFromFirst(r: TcpFirst, clock: KtimeClock): ConnPart {
  const ts = clock.toWall(r.ns);
  const isClose = r.event === 'close';
  return {
    ns: r.ns,
    pid: r.pid,
    hint: r.hint,
    conn: {
      event: r.event,
      direction: r.direction,
      family: r.family,
      local: r.local,
      remote: r.remote,
      durationMs: isClose ? ms(r.durNs) : null,
      totalDurationMs: isClose ? ms(r.durNs) : null,
      count: 1,
      firstTs: ts,
      lastTs: ts,
    },
  };
}

/**
 * One window entry of repeats: the ephemeral port (the local one of an outbound connection, the
 * peer's of an inbound one) is 0, as the probe folds it. Null for a key that does not decode.
 */
export function connFromWindow(w: WindowEntry, clock: KtimeClock): ConnPart | null {
  const k = decodeTcpKey(w.key);
  if (!k) return null;
  const isClose = k.event === 'close';
  const dmax = w.extra?.dmax;
  const dsum = w.extra?.dsum;
  return {
    ns: w.lastNs,
    pid: k.pid,
    hint: {},
    conn: {
      event: k.event,
      direction: k.direction,
      family: k.family,
      local: k.local,
      remote: k.remote,
      durationMs: isClose && dmax !== undefined ? ms(dmax) : null,
      totalDurationMs: isClose && dsum !== undefined ? ms(dsum) : null,
      count: w.count,
      firstTs: clock.toWall(w.firstNs),
      lastTs: clock.toWall(w.lastNs),
    },
  };
}
