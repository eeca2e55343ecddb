import type { ExecDecoded as AnyExecDecoded, ExecFields } from '../decode/exec.js';

/** The records of a failed call (the end-of-flush record is the sensor's). */
type ExecDecoded = Exclude<AnyExecDecoded, { type: 'exec.flush' }>;

/** comm is the new program's after a successful exec, else the caller's. */
export interface AssembledExec extends ExecFields {
  ret: number | null;
}

interface Pending {
  args: string[];
  filename: string;
  header?: Extract<ExecDecoded, { type: 'exec.enter' }>;
  ret?: { ret: number; comm: string };
  since: number;
}

/**
 * Joins exec.bt's records (argv elements, filename, header, return) into one exec per call. Records of
 * one call can arrive out of order across CPUs (an exec may migrate before it returns), so a return can
 * precede its header; a call whose return never comes is completed with ret = null after `timeoutMs`.
 */
export class ExecAssembler {
  private readonly pending = new Map<number, Pending>();
  constructor(
    /** Argument length at which the probe's string limit may have cut it (BPFTRACE_STRLEN - 1). */
    private readonly argLimit: number,
    private readonly timeoutMs = 1000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get size(): number {
    return this.pending.size;
  }

  /** Feeds one record; returns the exec it completes, if any. */
  push(r: ExecDecoded): AssembledExec | null {
    let p = this.pending.get(r.pid);
    switch (r.type) {
      case 'exec.arg':
        // Element 0 starts a new call: whatever was pending for this pid was a call without a return.
        if (r.idx === 0 || !p) {
          p = { args: [], filename: '', since: this.now(), ...(p?.ret && !p.header ? { ret: p.ret } : {}) };
          this.pending.set(r.pid, p);
        }
        p.args[r.idx] = r.arg;
        return null;
      case 'exec.filename':
        if (!p) {
          p = { args: [], filename: '', since: this.now() };
          this.pending.set(r.pid, p);
        }
        p.filename = r.filename;
        return null;
      case 'exec.enter':
        if (!p) {
          p = { args: [], filename: '', since: this.now() };
          this.pending.set(r.pid, p);
        }
        p.header = r;
        return p.ret ? this.complete(r.pid, p) : null;
      case 'exec.return':
        if (!p) {
          p = { args: [], filename: '', since: this.now() };
          this.pending.set(r.pid, p);
        }
        p.ret = { ret: r.ret, comm: r.comm };
        return p.header ? this.complete(r.pid, p) : null;
    }
  }

  /** Completes calls whose return is overdue (the record was lost or the task died in exec). */
  flushExpired(): AssembledExec[] {
    const cutoff = this.now() - this.timeoutMs;
    const out: AssembledExec[] = [];
    for (const [pid, p] of this.pending) {
      if (p.since >= cutoff) continue;
      if (p.header) out.push(this.complete(pid, p));
      else this.pending.delete(pid);
    }
    return out;
  }

  private complete(pid: number, p: Pending): AssembledExec {
    this.pending.delete(pid);
    const h = p.header!;
    const argv = Array.from(p.args, (a) => a ?? '');
    const cut = argv.some((a) => Buffer.byteLength(a) >= this.argLimit);
    const ok = p.ret?.ret === 0;
    return {
      ns: h.ns,
      pid,
      tid: h.tid,
      ppid: h.ppid,
      uid: h.uid,
      gid: h.gid,
      cgroupId: h.cgroupId,
      comm: ok ? p.ret!.comm : h.comm,
      filename: p.filename,
      argv,
      argvTruncated: h.moreArgs || cut,
      ret: p.ret ? p.ret.ret : null,
    };
  }
}
