import { randomUUID } from 'node:crypto';
import type { EventV1 } from '@vigil/schema';
import type { ProcessCache } from '../process/cache.js';
import type { GpuDeviceMap } from '../gpu/devices.js';
import { ioctlName, NVIDIA_RM_CLASS } from '../gpu/ioctl-names.js';
import type { ExecDecoded, ExecDone } from '../decode/exec.js';
import type { ProcDecoded } from '../decode/proc.js';
import { decodeConnectKey, type ConnectDecoded } from '../decode/connect.js';
import { decodeGpuKey, type GpuCall, type GpuDecoded } from '../decode/gpu.js';
import type { DnsDecoded } from '../decode/dns.js';
import type { TcpDecoded } from '../decode/tcp.js';
import { connFromFirst, connFromWindow, type ConnPart } from './conn-events.js';
import { DnsNames } from './dns-names.js';
import { ExecAssembler, type AssembledExec } from './exec-assembler.js';
import type { KtimeClock } from './clock.js';
import type { WindowEntry } from './window.js';
import type { Counters } from '../counters.js';
import type { ExeHashed } from '../process/exe-identity.js';
import type { ConfigData } from '../process/config-files.js';

/** End-of-flush records of the probes that buffer in maps (handled by the sensor, never built). */
type FlushDecoded = { type: 'exec.flush' | 'proc.flush'; ns: number };

/**
 * One printed window of counted repeats (connect, GPU or TCP), placed at its newest call: like a record
 * printed at once, it must wait for the execs and forks before it, or a process that exec'd just
 * before the tick and is gone by now would be built without its image.
 */
export type WindowDecoded = {
  type: 'connect.window' | 'gpu.window' | 'tcp.window';
  ns: number;
  entries: WindowEntry[];
};

export function windowRecord(kind: WindowDecoded['type'], entries: WindowEntry[]): WindowDecoded | null {
  if (entries.length === 0) return null;
  let ns = 0;
  for (const e of entries) if (e.lastNs > ns) ns = e.lastNs;
  return { type: kind, ns, entries };
}

export type DecodedRecord =
  | ExecDecoded
  | ExecDone
  | ProcDecoded
  | FlushDecoded
  | ConnectDecoded
  | GpuDecoded
  | WindowDecoded
  | DnsDecoded
  | TcpDecoded;

/**
 * Turns decoded probe records into v1 events: keeps the process cache in step with fork/exec/exit and
 * attaches the process (with ancestry) to everything it emits.
 */
export class EventBuilder {
  readonly execs: ExecAssembler;
  private readonly dns: DnsNames;

  constructor(
    private readonly host: string,
    private readonly cache: ProcessCache,
    private readonly devices: GpuDeviceMap,
    private readonly clock: KtimeClock,
    private readonly counters: Counters,
    argLimit: number,
  ) {
    this.execs = new ExecAssembler(argLimit);
    this.dns = new DnsNames(counters);
  }

  /**
   * Records in kernel-time order (a release of the batch merger). An exec followed in the same
   * release by an exit or another exec of its pid is past: /proc is not read for it.
   */
  onRecords(records: readonly DecodedRecord[]): EventV1[] {
    const superseded = new Set<DecodedRecord>();
    const lastSeen = new Map<number, DecodedRecord>();
    for (const r of records) {
      if (r.type !== 'exec.done' && r.type !== 'proc.exit') continue;
      const before = lastSeen.get(r.pid);
      if (before) superseded.add(before);
      if (r.type === 'exec.done') lastSeen.set(r.pid, r);
      else lastSeen.delete(r.pid);
    }
    const out: EventV1[] = [];
    for (const r of records) for (const ev of this.onRecord(r, superseded.has(r))) out.push(ev);
    return out;
  }

  /** One record in, zero or more events out; `superseded`: see onRecords. */
  private onRecord(r: DecodedRecord, superseded: boolean): EventV1[] {
    switch (r.type) {
      case 'exec.arg':
      case 'exec.filename':
      case 'exec.enter':
      case 'exec.return': {
        const done = this.execs.push(r);
        return done ? [this.execEvent(done)] : [];
      }
      case 'exec.done':
        return [this.execEvent(r, superseded)];
      case 'exec.flush':
      case 'proc.flush':
        return [];
      case 'proc.fork':
        this.cache.onFork(r.ppid, r.pid, BigInt(this.clock.toWall(r.ns)), r.cgroupId, r.ns);
        return [];
      case 'proc.exit': {
        const ev: EventV1 = {
          ...this.envelope(r.ns, r.pid, { comm: r.comm }),
          kind: 'exit',
          exit: { code: r.code, signal: r.signal },
        };
        this.cache.onExit(r.pid);
        return [ev];
      }
      case 'connect.first':
        return [this.connectFirst(r)];
      case 'dns.server':
      case 'dns.skipped':
        this.dns.onRecord(r);
        return [];
      case 'dns.message': {
        const dns = this.dns.onRecord(r);
        return dns ? [{ ...this.envelope(r.ns, r.pid, {}), kind: 'dns', dns }] : [];
      }
      case 'connect.window':
        return this.connectWindow(r.entries);
      case 'gpu.window':
        return this.gpuWindow(r.entries);
      case 'tcp.first':
        return [this.connEvent(connFromFirst(r, this.clock))];
      case 'tcp.refused':
        return [];
      case 'tcp.window':
        return this.tcpWindow(r.entries);
      case 'gpu.first': {
        const ts = this.clock.toWall(r.ns);
        return [
          this.gpuEvent(
            r,
            r.ns,
            { count: 1, firstTs: ts, lastTs: ts },
            { comm: r.comm, uid: r.uid, cgroupId: r.cgroupId },
          ),
        ];
      }
    }
  }

  /** A connect seen for the first time in its window: an event at once, with the name it was resolved from. */
  private connectFirst(r: Extract<DecodedRecord, { type: 'connect.first' }>): EventV1 {
    const ts = this.clock.toWall(r.ns);
    return {
      ...this.envelope(r.ns, r.pid, { comm: r.comm, uid: r.uid, cgroupId: r.cgroupId }),
      kind: 'connect',
      connect: {
        family: r.family,
        daddr: r.daddr,
        dport: r.dport,
        ret: r.ret,
        count: 1,
        firstTs: ts,
        lastTs: ts,
        ...this.hostname(r.pid, r.daddr, r.ns),
      },
    };
  }

  /** A window's TCP state changes, each folded entry an event; a key that does not decode is a reject. */
  private tcpWindow(entries: WindowEntry[]): EventV1[] {
    return entries.flatMap((w) => {
      const part = connFromWindow(w, this.clock);
      if (part) return [this.connEvent(part)];
      this.counters.reject('tcp.window-key');
      return [];
    });
  }

  /** An executable hashed off the event path, as its own event (the process as the table has it now). */
  exeEvent(h: ExeHashed): EventV1 {
    this.counters.eventsBuilt++;
    return {
      id: randomUUID(),
      v: 1,
      host: this.host,
      ts: this.clock.nowWall(),
      proc: this.cache.describe(h.pid),
      kind: 'exe',
      exe: {
        path: h.path,
        sha256: h.sha256,
        size: h.size,
        recentlyWritten: h.recentlyWritten,
        inWritableDir: h.inWritableDir,
        ...(h.reference ? { reference: true } : {}),
      },
    };
  }

  /** A config file a process was started with, read off the event path (the process as the table has it now). */
  configEvent(pid: number, config: ConfigData): EventV1 {
    this.counters.eventsBuilt++;
    return {
      id: randomUUID(),
      v: 1,
      host: this.host,
      ts: this.clock.nowWall(),
      proc: this.cache.describe(pid),
      kind: 'config',
      config,
    };
  }

  /** Execs whose return never came, completed with ret = null. */
  flushExpired(): EventV1[] {
    return this.execs.flushExpired().map((e) => this.execEvent(e));
  }

  private connectWindow(entries: WindowEntry[]): EventV1[] {
    const out: EventV1[] = [];
    for (const w of entries) {
      const k = decodeConnectKey(w.key);
      if (!k) {
        this.counters.reject('connect.window-key');
        continue;
      }
      out.push({
        ...this.envelope(w.lastNs, k.pid, {}),
        kind: 'connect',
        connect: {
          family: k.family,
          daddr: k.daddr,
          dport: k.dport,
          ret: null,
          count: w.count,
          firstTs: this.clock.toWall(w.firstNs),
          lastTs: this.clock.toWall(w.lastNs),
          ...this.hostname(k.pid, k.daddr, w.firstNs),
        },
      });
    }
    return out;
  }

  private connEvent(p: ConnPart): EventV1 {
    return { ...this.envelope(p.ns, p.pid, p.hint), kind: 'conn', conn: p.conn };
  }

  /** `hostname` for a connect's destination, when a DNS answer named it (spread into the data). */
  private hostname(pid: number, daddr: string, ns: number): { hostname?: string } {
    const name = this.dns.hostname(pid, daddr, ns);
    return name === undefined ? {} : { hostname: name };
  }

  private gpuWindow(entries: WindowEntry[]): EventV1[] {
    const out: EventV1[] = [];
    for (const w of entries) {
      const k = decodeGpuKey(w.key);
      if (!k) {
        this.counters.reject('gpu.window-key');
        continue;
      }
      out.push(
        this.gpuEvent(
          k,
          w.lastNs,
          {
            count: w.count,
            firstTs: this.clock.toWall(w.firstNs),
            lastTs: this.clock.toWall(w.lastNs),
          },
          {},
        ),
      );
    }
    return out;
  }

  private execEvent(e: AssembledExec, superseded = false): EventV1 {
    if (e.ret === 0) {
      this.cache.onExec({
        pid: e.pid,
        ppid: e.ppid,
        uid: e.uid,
        gid: e.gid,
        comm: e.comm,
        filename: e.filename,
        argv: e.argv,
        argvTruncated: e.argvTruncated,
        cgroupId: e.cgroupId,
        ktime: e.ns,
        superseded,
      });
    }
    return {
      ...this.envelope(e.ns, e.pid, { comm: e.comm, uid: e.uid, cgroupId: e.cgroupId }),
      kind: 'exec',
      exec: {
        filename: e.filename,
        argv: e.argv,
        argvTruncated: e.argvTruncated,
        ret: e.ret,
        ...(e.stdio ? { stdio: e.stdio } : {}),
      },
    };
  }

  private gpuEvent(
    call: GpuCall,
    ns: number,
    window: { count: number; firstTs: string; lastTs: string },
    hint: { comm?: string; uid?: number; cgroupId?: number },
  ): EventV1 {
    const dev = this.devices.resolve(call.rdev);
    const { nr, name } = ioctlName(call.request, call.inner);
    const isAlloc = name === 'NV_ESC_RM_ALLOC';
    const isControl = name === 'NV_ESC_RM_CONTROL';
    return {
      ...this.envelope(ns, call.pid, hint),
      kind: 'gpu',
      gpu: {
        device: dev.path,
        driver: dev.driver,
        major: dev.major,
        minor: dev.minor,
        request: call.request,
        nr,
        name,
        xfer: call.inner !== null,
        rmClass: isAlloc ? call.obj : null,
        rmClassName: isAlloc ? (NVIDIA_RM_CLASS[call.obj]?.name ?? null) : null,
        rmControl: isControl ? call.obj : null,
        ...window,
      },
    };
  }

  private envelope(ns: number, pid: number, hint: { comm?: string; uid?: number; cgroupId?: number }) {
    this.counters.eventsBuilt++;
    return {
      id: randomUUID(),
      v: 1 as const,
      host: this.host,
      ts: this.clock.toWall(ns),
      proc: this.cache.describe(pid, hint),
    };
  }
}
