import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { BlindIntervalV1, EventV1 } from '@vigil/schema';
import { bootTime, parseStat } from '../host/procfs.js';
import type { ProcessCache } from './cache.js';

/** /proc's start times count clock ticks (USER_HZ, 100 on Linux): a start is known to 10 ms. */
const TICK_NS = 10_000_000n;
/** Processes recovered from one blind interval at most: the rest are counted, not reported. */
export const MAX_RECOVERED = 5000;

export interface BlindRecoveryOptions {
  host: string;
  cache: ProcessCache;
  /** Its own children (the bpftrace it starts) are not what the probe missed. */
  selfPid: number;
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
  const from = BigInt(blind.fromTs) - TICK_NS;
  const to = BigInt(blind.toTs);
  const boot = bootTime(procRoot);
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
    if (!stat || stat.ppid === o.selfPid) continue;
    const startTs = boot + (stat.startTicks * 1_000_000_000n) / 100n;
    if (startTs >= from && startTs <= to) found.push({ pid: Number(name), startTs });
  }
  found.sort((a, b) => (a.startTs < b.startTs ? -1 : a.startTs > b.startTs ? 1 : a.pid - b.pid));
  const kept = found.slice(0, MAX_RECOVERED);
  // Read whole into the process cache (ancestry, identity) as at the sensor's start.
  o.cache.seedFromProc(kept.map((f) => f.pid));
  const events: EventV1[] = [];
  for (const { pid, startTs } of kept) {
    const proc = o.cache.describe(pid);
    // Gone between the two reads, or its start time changed (pid reused): nothing to report.
    if (proc.startTs !== startTs.toString()) continue;
    events.push({
      id: randomUUID(),
      v: 1,
      host: o.host,
      ts: startTs.toString(),
      kind: 'exec',
      proc,
      exec: { filename: proc.exe, argv: proc.argv, argvTruncated: proc.argvTruncated, ret: 0, recovered: true },
    });
  }
  return { events, over: found.length - kept.length };
}
