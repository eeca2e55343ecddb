import type { ConnEventV1, EventV1 } from '@vigil/schema';
import { defineDetection } from '../define.js';
import { basename, exeOf } from '../argv.js';
import { startsCompute } from './gpu.js';
import { droppedHow, poolPort } from './miner-signals.js';

/** A connection held this long is a session (a miner's stratum login), not a request. */
export const LONG_LIVED_MS = 60_000;

const nsToMs = (ts: string): number => Number(BigInt(ts) / 1_000_000n);

/** The long-lived outbound connection to a pool port this conn event shows or closes the wait for, if any. */
function longLived(ev: ConnEventV1, history: readonly EventV1[]): { peer: string; ms: number; open: boolean } | null {
  const c = ev.conn;
  if (c.event === 'close' && c.direction !== 'in' && poolPort(c.remote.addr, c.remote.port)) {
    if ((c.durationMs ?? 0) > LONG_LIVED_MS)
      return { peer: `${c.remote.addr}:${c.remote.port}`, ms: c.durationMs!, open: false };
    return null;
  }
  // Still established: an outbound one to a pool port with no close since, older than the bound.
  const now = nsToMs(ev.ts);
  const closed = new Set<string>();
  for (const e of [...history].reverse()) {
    if (e.kind !== 'conn' || e.conn.direction !== 'out') continue;
    const key = `${e.conn.local.port}|${e.conn.remote.addr}|${e.conn.remote.port}`;
    if (e.conn.event === 'close') closed.add(key);
    else if (e.conn.event === 'established' && !closed.has(key) && poolPort(e.conn.remote.addr, e.conn.remote.port)) {
      const ms = now - nsToMs(e.ts);
      if (ms > LONG_LIVED_MS) return { peer: `${e.conn.remote.addr}:${e.conn.remote.port}`, ms, open: true };
    }
  }
  return null;
}

/**
 * A dropped (just written, from a writable place) or fileless binary holding an outbound connection to
 * a pool port for over a minute: a miner's session, whatever it is called and however it was configured.
 */
export const minerDroppedConn = defineDetection({
  id: 'miner.dropped-long-conn',
  title: 'Dropped binary holds a long-lived connection to a pool port',
  severity: 'high',
  mitre: ['T1496', 'T1105'],
  on: ['conn'],
  description:
    'A binary that was written just before it ran, runs from a writable place or fileless, holds an outbound TCP ' +
    `connection to a pool port at a non-loopback peer for over ${LONG_LIVED_MS / 1000} s (from conn close durations, ` +
    'or an established connection with no close since).',
  ranks: { min: 'high', max: 'critical', rule: 'critical when the process also started GPU compute' },
  match(ev, ctx) {
    const exe = exeOf(ev);
    const dropped = droppedHow(exe, ev.proc);
    if (!dropped) return null;
    const history = ctx.recent(ev.host, ev.proc.pid);
    const held = longLived(ev, history);
    if (!held) return null;
    const compute = history.find((e) => e.kind === 'gpu' && startsCompute(e));
    const what = compute?.kind === 'gpu' ? startsCompute(compute) : null;
    return {
      reason: `${basename(exe) || ev.proc.comm} (pid ${ev.proc.pid}, ${exe}) ${held.open ? 'has held' : 'held'} a connection to ${held.peer} (a pool port) for ${Math.round(held.ms / 1000)} s; ${dropped}${what ? `; it also ${what}` : ''}`,
      severity: what ? 'critical' : 'high',
      evidence: compute ? [compute.id] : [],
    };
  },
});
