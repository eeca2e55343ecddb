import { readdirSync, readFileSync } from 'node:fs';
import { CLK_TCK, parseStat, procStartTs } from '../host/procfs.js';

/** PF_KTHREAD in /proc/<pid>/stat's flags (field 9): a kernel thread, never a target. */
const PF_KTHREAD = 0x00200000;
/** Parent links walked at most (a pid chain is far shorter; the bound stops a loop on a torn read). */
const MAX_DEPTH = 4096;
const TICK_NS = 1_000_000_000n / BigInt(CLK_TCK);
/**
 * How far a fork's time on the wall clock (ProcessV1.startTs of a process whose fork the sensor saw)
 * may lie from its start ticks: the ticks are rounded down to 10 ms, and the wall-clock offset is
 * sampled to the millisecond. A reused pid needs the whole pid space to wrap around first, which
 * takes far longer than this.
 */
const FORK_SLACK_NS = 15_000_000n;

export interface LiveProc {
  pid: number;
  ppid: number;
  startTicks: bigint;
  kernelThread: boolean;
}

/** The process with this pid now, or null once it is gone. */
export function liveProc(pid: number, procRoot = '/proc'): LiveProc | null {
  let text: string;
  try {
    text = readFileSync(`${procRoot}/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  const stat = parseStat(text);
  if (!stat) return null;
  const flags = Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[6]);
  return {
    pid,
    ppid: stat.ppid,
    startTicks: stat.startTicks,
    kernelThread: pid === 2 || stat.ppid === 2 || (Number.isFinite(flags) && (flags & PF_KTHREAD) !== 0),
  };
}

/**
 * Whether `startTs` (as the process's events carry it) names the live process with these start ticks.
 * The sensor gives a process one of two start times: read from /proc (seeded at start, or read on a
 * miss: procStartTs, exactly), or its fork record's kernel time on the wall clock (`ktimeToWall`),
 * which lies just after the start ticks.
 */
export function startMatches(startTs: bigint, startTicks: bigint, ktimeToWall: (ns: bigint) => bigint): boolean {
  if (startTs === procStartTs(startTicks)) return true;
  const fromTicks = ktimeToWall(startTicks * TICK_NS);
  return startTs >= fromTicks - FORK_SLACK_NS && startTs < fromTicks + TICK_NS + FORK_SLACK_NS;
}

/** The pids from `pid` up to pid 1 (itself first), or as far as /proc still shows them. */
export function ancestry(pid: number, procRoot = '/proc'): number[] {
  const out: number[] = [];
  let at: number | undefined = pid;
  while (at !== undefined && at > 0 && out.length < MAX_DEPTH && !out.includes(at)) {
    out.push(at);
    at = liveProc(at, procRoot)?.ppid;
  }
  return out;
}

/** Every process's parent, read from /proc at once. */
export function parentsNow(procRoot = '/proc'): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const d of readdirSync(procRoot)) {
    if (!/^\d+$/.test(d)) continue;
    const p = liveProc(Number(d), procRoot);
    if (!p) continue;
    const list = children.get(p.ppid);
    if (list) list.push(p.pid);
    else children.set(p.ppid, [p.pid]);
  }
  return children;
}

/**
 * The descendants of `pid` (and of the further `roots`, which are listed too) in breadth-first order
 * (children before grandchildren), from one read of /proc.
 */
export function descendants(pid: number, procRoot = '/proc', roots: readonly number[] = []): number[] {
  const children = parentsNow(procRoot);
  const out = roots.filter((r) => r !== pid);
  const queue = [pid, ...out];
  const seen = new Set(queue);
  while (queue.length > 0) {
    for (const c of children.get(queue.shift()!) ?? []) {
      if (seen.has(c)) continue;
      seen.add(c);
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}
