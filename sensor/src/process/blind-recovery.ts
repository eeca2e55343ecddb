import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { BlindIntervalV1, EventV1 } from '@vigil/schema';
import { bootTime, parseStat } from '../host/procfs.js';
import type { ProcessCache } from './cache.js';

/** /proc's start times count clock ticks (USER_HZ, 100 on Linux): a start is known to 10 ms. */
const TICK_NS = 10_000_000n;
/** Processes recovered from one blind interval at most: the rest are counted, not reported. */
export const MAX_RECOVERED = 5000;

/**
 * The wall-clock time of boot to within a tick, from the uptime: /proc/stat's btime is whole seconds,
 * up to a second off, more than a short blind interval.
 */
function preciseBoot(procRoot: string): bigint {
  const up = readFileSync(`${procRoot}/uptime`, 'latin1').split(' ')[0]!;
  const [whole, frac = '0'] = up.split('.');
  const upNs = BigInt(whole!) * 1_000_000_000n + BigInt(frac.padEnd(9, '0').slice(0, 9));
  return BigInt(Date.now()) * 1_000_000n - upNs;
}

export interface BlindRecoveryOptions {
  host: string;
  cache: ProcessCache;
  /** The sensor's own bpftrace processes (started inside the interval) are not what the probe missed. */
  probePids: ReadonlySet<number>;
  procRoot?: string;
}

export interface Recovered {
  events: EventV1[];
  /** Started inside the interval but past MAX_RECOVERED. */
  over: number;
}

/**
 * The processes still running that started inside a blind interval of the exec probe, as exec events
 * marked `recovered` (argv, exe, cwd and ancestry read from /proc now), so that a process started
 * while the probe was blind is not invisible. What started and ended inside the interval, and what
 * forked before it and exec'd inside it, stay unseen; the blind interval's alert says so.
 */
export function recoverBlindExecs(blind: BlindIntervalV1, o: BlindRecoveryOptions): Recovered {
  const procRoot = o.procRoot ?? '/proc';
  // Both ends known to a tick or two (the start time and the uptime are counted in ticks).
  const from = BigInt(blind.fromTs) - 2n * TICK_NS;
  const to = BigInt(blind.toTs);
  const boot = preciseBoot(procRoot);
  const found: { pid: number; startTs: bigint }[] = [];
  for (const name of readdirSync(procRoot)) {
    if (!/^\d+$/.test(name)) continue;
    let text: string;
    try {
      text = readFileSync(`${procRoot}/${name}/stat`, 'latin1');
    } catch {
      continue; // exited meanwhile
    }
    const stat = parseStat(text);
    if (!stat || o.probePids.has(Number(name))) continue;
    const startTs = boot + stat.startTicks * TICK_NS;
    if (startTs >= from && startTs <= to) found.push({ pid: Number(name), startTs });
  }
  found.sort((a, b) => (a.startTs < b.startTs ? -1 : a.startTs > b.startTs ? 1 : a.pid - b.pid));
  const kept = found.slice(0, MAX_RECOVERED);
  // Read whole into the process cache (ancestry, identity) as at the sensor's start.
  o.cache.seedFromProc(kept.map((f) => f.pid));
  const events: EventV1[] = [];
  const btime = bootTime(procRoot);
  for (const { pid, startTs } of kept) {
    const proc = o.cache.describe(pid);
    // Gone between the two reads, or another process now has its pid: nothing to report. (Its
    // startTs, the identity the sensor gives it everywhere, counts from /proc/stat's whole-second btime.)
    if (proc.startTs !== String(btime + (startTs - boot))) continue;
    events.push({
      id: randomUUID(),
      v: 1,
      host: o.host,
      // When it started, to a tick (the interval it fell in is told by its probe's alert).
      ts: startTs.toString(),
      kind: 'exec',
      proc,
      exec: { filename: proc.exe, argv: proc.argv, argvTruncated: proc.argvTruncated, ret: 0, recovered: true },
    });
  }
  return { events, over: found.length - kept.length };
}
