import { readFileSync } from 'node:fs';
import type { HeartbeatV1 } from '@vigil/schema';

/** The parent pid of a process on this host, or null when it is gone or unreadable. */
function parentOf(pid: number): number | null {
  try {
    // The command name (field 2) is in parentheses and may hold anything; the fields after it do not.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(ppid) ? ppid : null;
  } catch {
    return null;
  }
}

/**
 * Whether the sensor that sent `hb` runs inside this process (an embedded sensor): its pid is this
 * process's, and a bpftrace it names is this process's child here, which a sensor on another host
 * (whose pid may be the same number) cannot arrange. Its node figures (RSS, CPU) are then the whole
 * process's, the control plane and its embedded database included.
 */
export function sharesThisProcess(hb: Pick<HeartbeatV1, 'sensorPid' | 'probes'>, self: number = process.pid): boolean {
  if (hb.sensorPid !== self) return false;
  return hb.probes.some((p) => p.pid !== undefined && parentOf(p.pid) === self);
}
