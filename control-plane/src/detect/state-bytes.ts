import type { EventV1 } from '@vigil/schema';

/**
 * Estimates of the heap the per-process state holds, so it can keep within a byte budget without
 * measuring the heap: strings at two bytes a character plus a header, and a fixed header per object.
 * The estimates are upper ones (V8 stores one-byte strings at one byte a character).
 */
const STRING = 16;
const EVENT = 600;
const ANCESTOR = 80;
/** A process's own object, arrays, sets and index entries, its start time included. */
export const STATE_BYTES = 480;
/** One entry of a set of strings, the string apart. */
export const SET_ENTRY_BYTES = 48;

/** A string's bytes (nothing for null). */
export const stringBytes = (s: string | null | undefined): number => (s == null ? 0 : STRING + 2 * s.length);

const str = stringBytes;
const strs = (a: readonly string[]): number => {
  let n = STRING + 8 * a.length;
  for (let i = 0; i < a.length; i++) n += STRING + 2 * a[i]!.length;
  return n;
};

/** An upper estimate of the heap an event holds: its strings at two bytes a character, plus headers. */
export function eventBytes(ev: EventV1): number {
  const p = ev.proc;
  let n =
    EVENT +
    str(ev.id) +
    str(ev.host) +
    str(ev.ts) +
    str(p.comm) +
    str(p.exe) +
    strs(p.argv) +
    str(p.cwd) +
    str(p.cgroup) +
    str(p.containerId) +
    str(p.job) +
    str(p.startTs);
  for (const a of p.ancestry) n += ANCESTOR + str(a.comm) + str(a.exe) + strs(a.argv);
  if (ev.kind === 'exec') n += str(ev.exec.filename) + strs(ev.exec.argv);
  else if (ev.kind === 'gpu')
    n += str(ev.gpu.device) + str(ev.gpu.name) + str(ev.gpu.rmClassName) + str(ev.gpu.firstTs) + str(ev.gpu.lastTs);
  else if (ev.kind === 'connect')
    n += str(ev.connect.daddr) + str(ev.connect.firstTs) + str(ev.connect.lastTs) + str(ev.connect.hostname);
  else if (ev.kind === 'dns')
    n += str(ev.dns.qname) + ev.dns.answers.reduce((m, a) => m + ANCESTOR + str(a.name) + str(a.addr), 0);
  else if (ev.kind === 'conn')
    n += str(ev.conn.local.addr) + str(ev.conn.remote.addr) + str(ev.conn.firstTs) + str(ev.conn.lastTs);
  else if (ev.kind === 'config') n += str(ev.config.path) + strs(ev.config.directives) + str(ev.config.error);
  return n;
}
