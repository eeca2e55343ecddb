import { readFileSync, readlinkSync } from 'node:fs';
import { bytesToText } from './text.js';

export interface ProcInfo {
  pid: number;
  ppid: number;
  uid: number;
  gid: number;
  comm: string;
  exe: string;
  argv: string[];
  cwd?: string;
  cgroup: string;
  startTs: bigint | null;
}

/** The kernel's USER_HZ: the unit of /proc/<pid>/stat's start time. */
export const CLK_TCK = 100;
let bootTimeNs: bigint | null = null;

/** Wall-clock boot time in ns, from /proc/stat's btime. */
export function bootTime(procRoot = '/proc'): bigint {
  if (bootTimeNs === null) {
    const m = /^btime (\d+)$/m.exec(readFileSync(`${procRoot}/stat`, 'utf8'));
    bootTimeNs = m ? BigInt(m[1]!) * 1_000_000_000n : 0n;
  }
  return bootTimeNs;
}

/** A process's start time on the wall clock, from /proc/<pid>/stat's start ticks (as seeded processes carry it). */
export function procStartTs(startTicks: bigint, procRoot = '/proc'): bigint {
  return bootTime(procRoot) + (startTicks * 1_000_000_000n) / BigInt(CLK_TCK);
}

const read = (path: string): Buffer | null => {
  try {
    return readFileSync(path);
  } catch {
    return null;
  }
};
const link = (path: string): string | undefined => {
  try {
    return bytesToText(readlinkSync(path, { encoding: 'buffer' }));
  } catch {
    return undefined;
  }
};

export function splitCmdline(buf: Buffer): string[] {
  if (buf.length === 0) return [];
  const end = buf[buf.length - 1] === 0 ? buf.length - 1 : buf.length;
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i <= end; i++) {
    if (i === end || buf[i] === 0) {
      out.push(bytesToText(buf.subarray(start, i)));
      start = i + 1;
    }
  }
  return out;
}

/** The cgroup v2 path of a process ("0::/path"), or the first hierarchy's on v1. */
export function parseCgroupFile(text: string): string {
  const lines = text.split('\n').filter(Boolean);
  const v2 = lines.find((l) => l.startsWith('0::'));
  const line = v2 ?? lines[0] ?? '';
  return line.split(':').slice(2).join(':') || '/';
}

/**
 * The fields of /proc/<pid>/stat after comm, from state (field 3 of stat(5)) on: comm may hold spaces
 * and parentheses, so they are taken after the last ')'.
 */
function fieldsAfterComm(text: string): string[] | null {
  const close = text.lastIndexOf(')');
  return close < 0 ? null : text.slice(close + 2).split(' ');
}

/** Parses /proc/<pid>/stat: comm, parent and start time. */
export function parseStat(text: string): { comm: string; ppid: number; startTicks: bigint } | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const rest = fieldsAfterComm(text)!;
  const ppid = Number(rest[1]);
  const start = rest[19];
  if (!Number.isInteger(ppid) || start === undefined) return null;
  return { comm: text.slice(open + 1, close), ppid, startTicks: BigInt(start) };
}

/** Everything the sensor wants to know of a live process, or null once it is gone. */
export function readProc(pid: number, procRoot = '/proc'): ProcInfo | null {
  const dir = `${procRoot}/${pid}`;
  const statBuf = read(`${dir}/stat`);
  const statusBuf = read(`${dir}/status`);
  if (!statBuf || !statusBuf) return null;
  const stat = parseStat(bytesToText(statBuf));
  if (!stat) return null;
  const status = statusBuf.toString('latin1');
  const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? 0);
  const gid = Number(/^Gid:\s+(\d+)/m.exec(status)?.[1] ?? 0);
  const cmdline = read(`${dir}/cmdline`);
  const cgroupText = read(`${dir}/cgroup`)?.toString('utf8') ?? '';
  const exe = link(`${dir}/exe`) ?? '';
  const info: ProcInfo = {
    pid,
    ppid: stat.ppid,
    uid,
    gid,
    comm: stat.comm,
    exe,
    argv: cmdline ? splitCmdline(cmdline) : [],
    cgroup: parseCgroupFile(cgroupText),
    startTs: procStartTs(stat.startTicks, procRoot),
  };
  const cwd = link(`${dir}/cwd`);
  if (cwd !== undefined) info.cwd = cwd;
  return info;
}

export function readCgroup(pid: number, procRoot = '/proc'): string | null {
  const buf = read(`${procRoot}/${pid}/cgroup`);
  return buf ? parseCgroupFile(buf.toString('utf8')) : null;
}

export function readExe(pid: number, procRoot = '/proc'): string | undefined {
  return link(`${procRoot}/${pid}/exe`);
}

export function readCwd(pid: number, procRoot = '/proc'): string | undefined {
  return link(`${procRoot}/${pid}/cwd`);
}

/**
 * CPU seconds (user + system) from /proc/<pid>/stat: the process's own, and those of its children it
 * has waited for (an exited bpftrace the sensor reaped, say). Null once the process is gone.
 */
export function parseCpuSeconds(text: string): { self: number; reapedChildren: number } | null {
  // utime, stime, cutime and cstime are fields 14-17 of stat(5).
  const f = fieldsAfterComm(text)?.slice(11, 15).map(Number) ?? [];
  if (f.length < 4 || f.some((x) => !Number.isFinite(x) || x < 0)) return null;
  return { self: (f[0]! + f[1]!) / CLK_TCK, reapedChildren: (f[2]! + f[3]!) / CLK_TCK };
}

export function readCpuSeconds(
  pid: number | 'self',
  procRoot = '/proc',
): { self: number; reapedChildren: number } | null {
  const stat = read(`${procRoot}/${pid}/stat`);
  return stat ? parseCpuSeconds(stat.toString('latin1')) : null;
}

/** Resident set size in bytes (VmRSS), or null once the process is gone. */
export function readRssBytes(pid: number, procRoot = '/proc'): number | null {
  const status = read(`${procRoot}/${pid}/status`)?.toString('latin1');
  const kb = status && /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  return kb ? Number(kb) * 1024 : null;
}

/**
 * The scheduler state of a process (field 3 of stat(5)): 'R' running, 'S' sleeping, 'D' in the kernel,
 * 'T' stopped by a signal (SIGSTOP), 't' stopped by a tracer, 'Z' a zombie…; null once it is gone.
 */
export function readProcState(pid: number, procRoot = '/proc'): string | null {
  const stat = read(`${procRoot}/${pid}/stat`);
  return (stat && fieldsAfterComm(stat.toString('latin1'))?.[0]) || null;
}
