import type { EventV1 } from '@vigil/schema';
import { compareNs } from './ns-order.js';
import { eventBytes, SET_ENTRY_BYTES as SET_ENTRY, STATE_BYTES as STATE, stringBytes } from './state-bytes.js';

/** What the detection engine keeps of one process: its recent events, what it started, its flags. */
export interface ProcessState {
  readonly host: string;
  readonly pid: number;
  /** Its start time (ns), null while the sensor did not know it. */
  start: string | null;
  /** Made for an ancestor named by a descendant's exec; no event of its own yet. */
  placeholder: boolean;
  /**
   * Its last event was a failed exec without a start time: an execvp trying the next directory of
   * PATH (or a retry) comes from the same process, not a new one.
   */
  lookup: boolean;
  /** Its own recent events, oldest first, and each one's estimated bytes. */
  history: readonly EventV1[];
  historyBytes: readonly number[];
  /** Recent execs below it (at any depth up to `lineageDepth`), oldest first, and their bytes. */
  descendants: readonly EventV1[];
  descendantBytes: readonly number[];
  flags: Set<string> | null;
  gpuDevices: Set<string> | null;
  bytes: number;
  touched: number;
  /** When it last moved to the back of the eviction order. */
  movedAt: number;
  exitedAt: number | null;
  released: boolean;
}

/** An exec whose start time the sensor did not know, by its outcome (execve's return). */
export type ExecWithoutStart = 'succeeded' | 'failed' | null;

/** Processes let go whole: at their exit or when idle (`released`), or over a bound (`evicted`). */
export const RELEASE_REASONS = ['exited', 'aged'] as const;
export const EVICTION_REASONS = ['bytes', 'processes'] as const;
export type ReleaseReason = (typeof RELEASE_REASONS)[number];
export type EvictionReason = (typeof EVICTION_REASONS)[number];

export interface ProcessStateStats {
  processes: number;
  /** Estimated bytes held (an upper estimate: two bytes per character, every object's header). */
  bytes: number;
  budgetBytes: number;
  released: Record<ReleaseReason, number>;
  evicted: Record<EvictionReason, number>;
  /** Events not kept or dropped early because one process held more than its share of the budget. */
  eventsOverShare: number;
}

export interface ProcessStatesOptions {
  budgetBytes: number;
  maxProcesses: number;
  /** A process idle this long is let go. */
  ttlMs: number;
  /** An exited process is let go this long after its exit, or after the last exec below it. */
  exitGraceMs: number;
  /** Events kept per process, in its history and of its descendants each. */
  eventsPerProcess: number;
  /** An exec is kept as a descendant of this many of its nearest ancestors. */
  lineageDepth: number;
  now: () => number;
}

/** The per-process state's byte budget unless told otherwise. */
export const DEFAULT_STATE_BUDGET_BYTES = 256 * 1024 * 1024;

/** The detection engine's limits on its per-process state. */
export const PROCESS_STATE_LIMITS: Omit<ProcessStatesOptions, 'now'> = {
  budgetBytes: DEFAULT_STATE_BUDGET_BYTES,
  maxProcesses: 50_000,
  ttlMs: 15 * 60_000,
  /** An exited process's state stays this long for late records of other probes and for its chain. */
  exitGraceMs: 60_000,
  eventsPerProcess: 64,
  lineageDepth: 6,
};

const MAX_GPU_DEVICES = 16;
/** Shared by every process with nothing there yet (most have no descendants): never added to. */
const NO_EVENTS: readonly EventV1[] = Object.freeze([]);
const NO_SIZES: readonly number[] = Object.freeze([]);
/** An active process moves to the back of the eviction order at most this often (a Map delete and set). */
const MOVE_EVERY_MS = 1000;
const str = stringBytes;

/**
 * The detection engine's per-process state, one entry per process, a process being (host, pid,
 * start time). A pid that comes back with another start time is another process and starts empty;
 * without a start time, an exec starts a new entry and an exit ends one, so nothing is inherited across
 * pid reuse. Held within a byte budget (estimated from the strings each event holds): over it, the
 * processes idle longest go first, counted. Exited processes go after a short grace, idle ones after
 * the TTL, so memory comes back as processes end rather than at the next eviction.
 */
export class ProcessStates {
  /** In eviction order: the front has been idle longest (to within MOVE_EVERY_MS). */
  private readonly order = new Set<ProcessState>();
  /** Per host and pid, the processes held that had it, oldest first: the last is the one that has it now. */
  private readonly byPid = new Map<string, Map<number, ProcessState[]>>();
  /** Exited processes in exit order, from `head` on. */
  private exitQueue: ProcessState[] = [];
  private head = 0;
  private bytes = 0;
  private readonly released: Record<ReleaseReason, number> = { exited: 0, aged: 0 };
  private readonly evicted: Record<EvictionReason, number> = { bytes: 0, processes: 0 };
  private eventsOverShare = 0;
  /** One process holds at most this much: the others can always be evicted to make room for it. */
  private readonly share: number;

  constructor(private readonly opts: ProcessStatesOptions) {
    this.share = Math.floor(opts.budgetBytes / 8);
  }

  get stats(): ProcessStateStats {
    return {
      processes: this.order.size,
      bytes: this.bytes,
      budgetBytes: this.opts.budgetBytes,
      released: { ...this.released },
      evicted: { ...this.evicted },
      eventsOverShare: this.eventsOverShare,
    };
  }

  /**
   * The process an event (or an alert's process) is about. `exec`: an exec whose start time the
   * sensor did not know, which begins a new entry for that pid, unless it follows failed execs of the
   * live entry (one execvp trying each directory of PATH is one process).
   */
  resolve(host: string, pid: number, start: string | null, exec: ExecWithoutStart = null): ProcessState {
    this.makeRoom();
    const gens = this.generations(host, pid);
    const cur = gens[gens.length - 1];
    let s: ProcessState | undefined;
    if (start !== null) {
      for (let i = gens.length - 1; i >= 0 && !s; i--) if (gens[i]!.start === start) s = gens[i];
      // An ancestor seen before any event of its own (it started before the sensor): this is it.
      if (!s && cur?.placeholder) (s = cur).start = start;
      if (!s) {
        s = this.make(host, pid, start);
        if (cur?.start != null && compareNs(start, cur.start) < 0) {
          // A late event of an earlier process with this pid: kept apart, and on its way out.
          gens.splice(gens.length - 1, 0, s);
          this.exit(s);
        } else {
          this.succeed(gens, cur, s);
        }
      }
    } else {
      // Without a start time an event belongs to the live process of its pid, unless it is an exec
      // that does not continue a lookup (failed execs replace no image: the process stays who it was).
      const live = cur && cur.exitedAt === null ? cur : undefined;
      s = !exec || live?.lookup ? live : undefined;
      if (!s) this.succeed(gens, cur, (s = this.make(host, pid, null)));
    }
    s.lookup = start === null && exec === 'failed';
    s.placeholder = false;
    this.touch(s);
    this.fit(s);
    return s;
  }

  /** An ancestor named by pid alone (ancestry carries no start time): the newest process of that pid. */
  private ancestor(host: string, pid: number): ProcessState {
    this.makeRoom();
    const gens = this.generations(host, pid);
    let s = gens[gens.length - 1];
    if (!s) {
      gens.push((s = this.make(host, pid, null)));
      s.placeholder = true;
    }
    this.touch(s);
    this.fit(s);
    return s;
  }

  /** The newest process of a pid, if any is held; makes nothing. */
  lookup(host: string, pid: number): ProcessState | undefined {
    return this.byPid.get(host)?.get(pid)?.at(-1);
  }

  /**
   * Keeps an evaluated event: in its process's history, its GPU device apart, and an exec as a
   * descendant of its nearest ancestors (for chains and corroboration).
   */
  record(s: ProcessState, ev: EventV1): void {
    const bytes = eventBytes(ev);
    this.addEvent(s, ev, bytes);
    // Calls on the device that names the GPU come early (context creation) and may be out of a busy
    // process's history by the time it allocates compute: the devices are kept apart.
    if (ev.kind === 'gpu') this.addGpuDevice(s, ev.gpu.device);
    if (ev.kind === 'exec')
      for (const a of ev.proc.ancestry.slice(0, this.opts.lineageDepth))
        this.addDescendant(this.ancestor(ev.host, a.pid), ev, bytes);
  }

  private addEvent(s: ProcessState, ev: EventV1, bytes: number): void {
    if (!this.admits(s, bytes)) return;
    if (s.history === NO_EVENTS) {
      s.history = [];
      s.historyBytes = [];
    }
    this.push(s, s.history as EventV1[], s.historyBytes as number[], ev, bytes);
  }

  private addDescendant(s: ProcessState, ev: EventV1, bytes: number): void {
    if (!this.admits(s, bytes)) return;
    if (s.descendants === NO_EVENTS) {
      s.descendants = [];
      s.descendantBytes = [];
    }
    this.push(s, s.descendants as EventV1[], s.descendantBytes as number[], ev, bytes);
  }

  flag(s: ProcessState, ruleId: string): void {
    if (s.released) return;
    s.flags ??= new Set();
    if (s.flags.has(ruleId)) return;
    s.flags.add(ruleId);
    this.grow(s, SET_ENTRY + str(ruleId));
  }

  private addGpuDevice(s: ProcessState, device: string): void {
    if (s.released) return;
    s.gpuDevices ??= new Set();
    if (s.gpuDevices.has(device) || s.gpuDevices.size >= MAX_GPU_DEVICES) return;
    s.gpuDevices.add(device);
    this.grow(s, SET_ENTRY + str(device));
  }

  /** The process exited: it goes after the grace (late records of other probes still find it). */
  exit(s: ProcessState): void {
    if (s.exitedAt !== null || s.released) return;
    s.exitedAt = this.opts.now();
    this.exitQueue.push(s);
  }

  /** Lets go of exited processes past their grace and of idle ones past the TTL; call every second or so. */
  sweep(): void {
    const now = this.opts.now();
    const { exitGraceMs, ttlMs } = this.opts;
    for (let n = this.exitQueue.length - this.head; n > 0; n--) {
      const s = this.exitQueue[this.head]!;
      if (!s.released && now - s.exitedAt! <= exitGraceMs) break;
      this.head++;
      if (s.released) continue;
      // A process that exited while what it started still runs (and execs) stays for its chain.
      if (now - s.touched <= exitGraceMs) this.exitQueue.push(s);
      else this.release(s, 'exited');
    }
    if (this.head > 1024 && this.head * 2 > this.exitQueue.length) {
      this.exitQueue = this.exitQueue.slice(this.head);
      this.head = 0;
    }
    for (const s of this.order) {
      if (now - s.touched > ttlMs) this.release(s, 'aged');
      else if (now - s.movedAt <= ttlMs) break;
    }
  }

  /**
   * Lets go of every process of the hosts `isIn` names (their events now reach another control-plane
   * replica): not counted as released or evicted, since nothing ran out.
   */
  forgetHosts(isIn: (host: string) => boolean): number {
    let n = 0;
    for (const [host, pids] of [...this.byPid])
      if (isIn(host))
        for (const gens of [...pids.values()])
          for (const s of [...gens]) {
            this.release(s, null);
            n++;
          }
    return n;
  }

  private generations(host: string, pid: number): ProcessState[] {
    let pids = this.byPid.get(host);
    if (!pids) this.byPid.set(host, (pids = new Map()));
    let gens = pids.get(pid);
    if (!gens) pids.set(pid, (gens = []));
    return gens;
  }

  /** Made before the caller looks its pid up: an eviction after could take what it holds. */
  private makeRoom(): void {
    if (this.order.size >= this.opts.maxProcesses) this.evictOldest(Math.max(1, this.opts.maxProcesses >> 3));
  }

  private make(host: string, pid: number, start: string | null): ProcessState {
    const now = this.opts.now();
    const s: ProcessState = {
      host,
      pid,
      start,
      placeholder: false,
      lookup: false,
      history: NO_EVENTS,
      historyBytes: NO_SIZES,
      descendants: NO_EVENTS,
      descendantBytes: NO_SIZES,
      flags: null,
      gpuDevices: null,
      bytes: STATE + str(host),
      touched: now,
      movedAt: now,
      exitedAt: null,
      released: false,
    };
    this.bytes += s.bytes;
    this.order.add(s);
    return s;
  }

  /** `s` now has its pid; the process that had it before has exited (its pid is taken). */
  private succeed(gens: ProcessState[], cur: ProcessState | undefined, s: ProcessState): void {
    if (cur) this.exit(cur);
    gens.push(s);
  }

  private touch(s: ProcessState): void {
    const now = this.opts.now();
    s.touched = now;
    if (now - s.movedAt < MOVE_EVERY_MS) return;
    s.movedAt = now;
    this.order.delete(s);
    this.order.add(s);
  }

  /** An event larger than a process's share is not kept (counted): it would push out all else. */
  private admits(s: ProcessState, bytes: number): boolean {
    if (s.released) return false;
    if (bytes <= this.share) return true;
    this.eventsOverShare++;
    return false;
  }

  private push(s: ProcessState, list: EventV1[], sizes: number[], ev: EventV1, bytes: number): void {
    list.push(ev);
    sizes.push(bytes);
    s.bytes += bytes;
    this.bytes += bytes;
    if (list.length > this.opts.eventsPerProcess) this.dropFirst(s, list, sizes);
    if (s.bytes > this.share) this.trim(s, list, sizes);
    this.fit(s);
  }

  /** Over its share, a process's oldest events go (counted): of the list just added to, then of the other. */
  private trim(s: ProcessState, list: EventV1[], sizes: number[]): void {
    while (s.bytes > this.share && list.length > 1) {
      this.dropFirst(s, list, sizes);
      this.eventsOverShare++;
    }
    const [other, otherSizes] = list === s.history ? [s.descendants, s.descendantBytes] : [s.history, s.historyBytes];
    while (s.bytes > this.share && other.length > 0) {
      this.dropFirst(s, other as EventV1[], otherSizes as number[]);
      this.eventsOverShare++;
    }
  }

  private dropFirst(s: ProcessState, list: EventV1[], sizes: number[]): void {
    list.shift();
    const b = sizes.shift()!;
    s.bytes -= b;
    this.bytes -= b;
  }

  private grow(s: ProcessState, bytes: number): void {
    s.bytes += bytes;
    this.bytes += bytes;
    this.fit(s);
  }

  /** Over the budget, the processes idle longest go until an eighth of it is free again (`keep` stays). */
  private fit(keep: ProcessState): void {
    if (this.bytes <= this.opts.budgetBytes) return;
    const target = this.opts.budgetBytes - (this.opts.budgetBytes >> 3);
    for (const s of this.order) {
      if (this.bytes <= target) break;
      if (s !== keep) this.release(s, 'bytes');
    }
  }

  /**
   * `n` processes from the front at once. V8 keeps a deleted Set slot until the table is rebuilt, so
   * finding the first live key after many deletes at the front walks every one of them: evicting one
   * process per new one cost ~18 µs per event at the bound; one walk per eighth costs nearly nothing.
   */
  private evictOldest(n: number): void {
    for (const s of this.order) {
      if (n-- <= 0) break;
      this.release(s, 'processes');
    }
  }

  private release(s: ProcessState, reason: ReleaseReason | EvictionReason | null): void {
    this.order.delete(s);
    const pids = this.byPid.get(s.host);
    const gens = pids?.get(s.pid);
    if (gens) {
      const i = gens.indexOf(s);
      if (i >= 0) gens.splice(i, 1);
      if (gens.length === 0) pids!.delete(s.pid);
      if (pids!.size === 0) this.byPid.delete(s.host);
    }
    this.bytes -= s.bytes;
    s.bytes = 0;
    // The exit queue may still name it: what it held goes now.
    s.history = NO_EVENTS;
    s.historyBytes = NO_SIZES;
    s.descendants = NO_EVENTS;
    s.descendantBytes = NO_SIZES;
    s.flags = null;
    s.gpuDevices = null;
    s.released = true;
    if (reason === 'exited' || reason === 'aged') this.released[reason]++;
    else if (reason !== null) this.evicted[reason]++;
  }
}
