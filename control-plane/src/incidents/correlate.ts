import type { AlertV1, IncidentProcessV1, IncidentV1, ProcessV1 } from '@vigil/schema';

/**
 * How an alert finds its incident: the processes it stands for (its own and a few of its ancestors,
 * as they were at its birth) against those each open incident holds, or its scheduler job.
 */

/** Ancestors of an alerted process that tie it to others: its parent, grandparent and great-grandparent. */
export const TIE_DEPTH = 3;

/**
 * Ancestors that start sessions for everyone (init, service managers, login daemons, container and
 * job runtimes): processes under one of them are not one story for sharing it.
 */
const SESSION_ROOTS = new Set([
  'systemd',
  'init',
  'sshd',
  'sshd-session',
  'login',
  'cron',
  'crond',
  'containerd-shim',
  'containerd-shim-runc-v2',
  'runc',
  'conmon',
  'slurmd',
  'slurmstepd',
  'kubelet',
  'dockerd',
  'tmux: server',
  'screen',
]);

const base = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

/** One process on an alert's line, nearest first: the alerted one, then its ancestors. */
export interface LineProcess {
  pid: number;
  startTs: string | null;
  exe: string;
  comm: string;
}

/** The alerted process and its ancestors, nearest first, up to the first session root or pid 1. */
export function lineOf(proc: ProcessV1, depth = Number.POSITIVE_INFINITY): LineProcess[] {
  const line: LineProcess[] = [{ pid: proc.pid, startTs: proc.startTs, exe: proc.exe, comm: proc.comm }];
  for (const a of proc.ancestry) {
    if (line.length > depth) break;
    if (a.pid <= 1 || SESSION_ROOTS.has(a.comm) || SESSION_ROOTS.has(base(a.exe))) break;
    line.push({ pid: a.pid, startTs: null, exe: a.exe, comm: a.comm });
  }
  return line;
}

/** The pids an alert ties by: its process and its nearest ancestors below any session root. */
export const tiesOf = (proc: ProcessV1): number[] => lineOf(proc, TIE_DEPTH).map((p) => p.pid);

/**
 * The nearest process two lines share, nearest first on `a`; null when they share none. Lines are
 * compared by pid (ancestors carry no start time); the alerted processes by pid and start time.
 */
export function nearestCommon(a: LineProcess[], b: LineProcess[]): LineProcess | null {
  const pids = new Set(b.map((p) => p.pid));
  return a.find((p) => pids.has(p.pid)) ?? null;
}

/**
 * The incident's root and processes from the lines of its alerts: the root is the nearest ancestor
 * all lines share (the earliest alerted process when they share none, as a job's separate steps do);
 * the processes are each alerted one and those between it and the root.
 */
export function treeOf(lines: LineProcess[][]): { root: IncidentProcessV1 | null; processes: IncidentProcessV1[] } {
  const [first, ...rest] = lines;
  if (!first) return { root: null, processes: [] };
  let common: LineProcess[] | null = first;
  for (const line of rest) {
    if (!common) break;
    const nca = nearestCommon(common, line);
    common = nca ? common.slice(common.indexOf(nca)) : null;
  }
  const root = common?.[0] ?? first[0]!;
  const seen = new Map<string, IncidentProcessV1>();
  const add = (p: LineProcess) => {
    const key = `${p.pid}`;
    const had = seen.get(key);
    // An alerted process's own record carries its start time; an ancestor's does not.
    if (!had || (had.startTs === null && p.startTs !== null)) seen.set(key, { ...p });
  };
  add(root);
  for (const line of lines) {
    const upTo = line.findIndex((p) => p.pid === root.pid);
    for (const p of upTo >= 0 ? line.slice(0, upTo) : line.slice(0, 1)) add(p);
  }
  return { root: seen.get(`${root.pid}`)!, processes: [...seen.values()] };
}

/** The alert's part of the title: what ran, the rule's words. */
const beat = (a: AlertV1): string => `${a.proc ? `${a.proc.comm}: ` : ''}${a.title}`;

/** The one-line story: the behaviours of its alerts in time order, repeats told once. */
export function titleOf(alerts: Pick<AlertV1, 'ts' | 'title' | 'proc'>[], max = 1000): string {
  const sorted = [...alerts].sort((x, y) => (BigInt(x.ts) < BigInt(y.ts) ? -1 : BigInt(x.ts) > BigInt(y.ts) ? 1 : 0));
  const parts: string[] = [];
  for (const a of sorted) {
    const b = beat(a as AlertV1);
    if (!parts.includes(b)) parts.push(b);
  }
  const text = parts.join(' → ');
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Whether an alert's time is within `windowNs` of the incident's activity (either side: sensor clocks differ). */
export function withinWindow(inc: Pick<IncidentV1, 'firstTs' | 'lastTs'>, ts: string, windowNs: bigint): boolean {
  const t = BigInt(ts);
  return t >= BigInt(inc.firstTs) - windowNs && t <= BigInt(inc.lastTs) + windowNs;
}
