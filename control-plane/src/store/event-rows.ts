import type { EventV1 } from '@vigil/schema';

/** The events table's row for one event (ClickHouse's snake_case at this boundary). */
export function eventRow(ev: EventV1) {
  return {
    id: ev.id,
    host: ev.host,
    ts: ev.ts,
    kind: ev.kind,
    pid: ev.proc.pid,
    ppid: ev.proc.ppid,
    uid: ev.proc.uid,
    comm: ev.proc.comm,
    exe: ev.kind === 'exec' ? ev.exec.filename : ev.proc.exe,
    argv: ev.kind === 'exec' ? ev.exec.argv : ev.proc.argv,
    container_id: ev.proc.containerId ?? '',
    job: ev.proc.job ?? '',
    daddr: ev.kind === 'connect' ? ev.connect.daddr : '',
    dport: ev.kind === 'connect' ? ev.connect.dport : 0,
    gpu_device: ev.kind === 'gpu' ? ev.gpu.device : '',
    gpu_ioctl: ev.kind === 'gpu' ? ev.gpu.name : '',
    gpu_class: ev.kind === 'gpu' ? (ev.gpu.rmClass ?? 0) : 0,
    event_count: ev.kind === 'connect' ? ev.connect.count : ev.kind === 'gpu' ? ev.gpu.count : 1,
    event: JSON.stringify(ev),
  };
}
