import { randomUUID } from 'node:crypto';
import { nowNs, type AlertV1, type EventV1, type HeartbeatV1, type ProcessV1, type Severity } from '@vigil/schema';
import type { ReceivedHeartbeat } from '../ingest/heartbeats.js';
import { basename } from './argv.js';
import { imageOf, type AnyDetection, type DetectionConfig, type DetectionContext, type Finding } from './define.js';
import { compareNs, eventBytes, ProcessStates, type ProcessState, type ProcessStateStats } from './process-state.js';
import { ProbeStallWatch, SENSOR_PROBE_STALLED } from './probe-stall.js';

export interface LoadedDetection {
  detection: AnyDetection;
  source: AlertV1['source'];
  author: string | null;
  /** Where it came from (a file), for reports. */
  origin: string;
}

export interface EngineOptions {
  config: DetectionConfig;
  /** Repeats of (rule, host, process) within this window update one alert instead of raising new ones. */
  throttleMs?: number;
  /** A sensor without a heartbeat for this long raises sensor.silent. */
  silentAfterMs?: number;
  onAlert: (alert: AlertV1) => void;
  /** Bytes the per-process state (histories, what each process started, flags) may hold, estimated. */
  stateBudgetBytes?: number;
  now?: () => number;
}

/** The per-process state's byte budget unless told otherwise. */
export const DEFAULT_STATE_BUDGET_BYTES = 256 * 1024 * 1024;

const HISTORY_PER_PROCESS = 64;
const HISTORY_TTL_MS = 15 * 60_000;
/** An exited process's state stays this long for late records of other probes and for its chain. */
const EXIT_GRACE_MS = 60_000;
const MAX_PROCESSES = 50_000;
/**
 * Open throttle windows at most. Each holds its alert (and through it the process and its ancestry)
 * until the window ends: one host raising alerts for new processes (a noisy rule in an exec storm, a
 * hostile publisher numbering pids) held a minute of them, without bound, in the control plane.
 */
const MAX_THROTTLED = 20_000;
const MAX_EVIDENCE = 20;
const LINEAGE_DEPTH = 6;

interface Throttled {
  alert: AlertV1;
  windowEnd: number;
  dirty: boolean;
}


/**
 * Runs detections over events as they arrive: keeps a short history per process and an index of what each
 * process started (for chains and corroboration) within a byte budget, throttles repeats per (rule,
 * host, process), and raises sensor.silent from heartbeats. A detection that throws is counted, never fatal.
 */
export class DetectionEngine {
  private detections = new Map<string, LoadedDetection>();
  private readonly states: ProcessStates;
  /** The process of the event being evaluated: a detection asking about its own pid means this one. */
  private evaluating: ProcessState | null = null;
  private readonly throttled = new Map<string, Throttled>();
  private readonly silentHosts = new Set<string>();
  /** The stopping heartbeat last seen per host. */
  private readonly stoppedTold = new Map<string, string>();
  private readonly startedMs: number;
  /** Per host, the restarts last told of each probe its heartbeat lists (only those). */
  private readonly probeRestarts = new Map<string, Map<string, number>>();
  readonly errors = new Map<string, number>();
  readonly fired = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly opts: EngineOptions) {
    this.now = opts.now ?? Date.now;
    this.startedMs = this.now();
    this.states = new ProcessStates({
      budgetBytes: opts.stateBudgetBytes ?? DEFAULT_STATE_BUDGET_BYTES, maxProcesses: MAX_PROCESSES, ttlMs: HISTORY_TTL_MS,
      exitGraceMs: EXIT_GRACE_MS, eventsPerProcess: HISTORY_PER_PROCESS, now: this.now,
    });
    this.ctx = { config: opts.config, ...this.ctxParts };
  }

  /**
   * Detections per event kind: those that see every event, and for each image basename some
   * detection declared, the detections an exec of that image meets (those plus the declared ones).
   * Every list is in load order.
   */
  private byKind = new Map<string, { always: LoadedDetection[]; byImage: Map<string, LoadedDetection[]> }>();

  setDetections(list: LoadedDetection[]): void {
    this.detections = new Map(list.map((d) => [d.detection.id, d]));
    this.byKind = new Map();
    for (const d of this.detections.values()) {
      for (const kind of d.detection.on) {
        let k = this.byKind.get(kind);
        if (!k) this.byKind.set(kind, (k = { always: [], byImage: new Map() }));
        // In load order: a name first declared here starts from the detections that see everything so far.
        if (!d.detection.images) { k.always.push(d); for (const l of k.byImage.values()) l.push(d); continue; }
        for (const name of new Set(d.detection.images)) {
          let l = k.byImage.get(name);
          if (!l) k.byImage.set(name, (l = [...k.always]));
          l.push(d);
        }
      }
    }
  }

  /** The detections an event meets, in load order. */
  private candidates(ev: EventV1): readonly LoadedDetection[] {
    const k = this.byKind.get(ev.kind);
    if (!k) return [];
    if (k.byImage.size === 0) return k.always;
    return k.byImage.get(basename(imageOf(ev)).toLowerCase()) ?? k.always;
  }

  list(): LoadedDetection[] {
    return [...this.detections.values()];
  }

  private readonly ctx: DetectionContext;
  private readonly ctxParts = {
    recent: (host: string, pid: number): readonly EventV1[] => this.stateOf(host, pid)?.history ?? [],
    descendantExecs: (host: string, pid: number): readonly EventV1[] => this.stateOf(host, pid)?.descendants ?? [],
    gpuDevices: (host: string, pid: number): ReadonlySet<string> => this.stateOf(host, pid)?.gpuDevices ?? EMPTY,
    flagged: (host: string, pid: number): ReadonlySet<string> => this.stateOf(host, pid)?.flags ?? EMPTY,
    hasAncestor: (proc: ProcessV1, pred: (a: ProcessV1['ancestry'][number]) => boolean) => proc.ancestry.some(pred),
  };

  /**
   * The state a detection means by (host, pid): the evaluated event's own process for its pid (a late
   * event of a process whose pid is taken again is still its own), else the newest process of that pid.
   */
  private stateOf(host: string, pid: number): ProcessState | undefined {
    const e = this.evaluating;
    return e && e.pid === pid && e.host === host ? e : this.states.lookup(host, pid);
  }

  /** What the per-process state holds and what it let go, by reason. */
  get stateStats(): ProcessStateStats {
    return this.states.stats;
  }

  /** Evaluates the events that arrived together, oldest first (they mix probes; order by kernel time). */
  process(events: EventV1[]): void {
    for (const ev of [...events].sort(byTs)) {
      const { host, proc } = ev;
      // An exec without a start time is a process the sensor saw no fork of: a new one for its pid.
      const state = this.states.resolve(host, proc.pid, proc.startTs, ev.kind === 'exec' && proc.startTs === null);
      this.evaluating = state;
      try {
        for (const loaded of this.candidates(ev)) {
          const d = loaded.detection;
          let finding: Finding | null | undefined;
          try {
            finding = d.match(ev as never, this.ctx);
          } catch {
            this.errors.set(d.id, (this.errors.get(d.id) ?? 0) + 1);
            continue;
          }
          if (finding) this.raiseFor(loaded, host, proc, state, ev.ts, [ev.id, ...(finding.evidence ?? [])], finding);
        }
      } finally {
        this.evaluating = null;
      }
      this.remember(ev, state);
      if (ev.kind === 'exit') this.states.exit(state);
    }
  }

  /**
   * Raises an alert from outside an event (SQL detections, sensor.silent). Its flag goes to the process
   * of that start time, or without one to the live process of that pid (as an event without one would).
   */
  raise(loaded: Pick<LoadedDetection, 'detection' | 'source' | 'author'>, host: string, proc: ProcessV1 | null, ts: string, evidence: string[], finding: Finding): void {
    const state = proc ? this.states.resolve(host, proc.pid, proc.startTs, false) : null;
    this.raiseFor(loaded, host, proc, state, ts, evidence, finding);
  }

  private raiseFor(loaded: Pick<LoadedDetection, 'detection' | 'source' | 'author'>, host: string, proc: ProcessV1 | null, state: ProcessState | null, ts: string, evidence: string[], finding: Finding): void {
    const d = loaded.detection;
    this.fired.set(d.id, (this.fired.get(d.id) ?? 0) + 1);
    // Flags live and go with the process's state (its budget, its exit, its age).
    if (state) this.states.flag(state, d.id);
    // Per process as DESIGN.md identifies one: a pid taken again by another process opens its own window.
    const key = `${d.id}|${host}|${proc?.pid ?? 0}|${proc?.startTs ?? ''}|${proc?.exe ?? ''}|${finding.subject ?? ''}`;
    const now = this.now();
    const t = this.throttled.get(key);
    if (t && now < t.windowEnd) {
      t.alert.count++;
      t.alert.lastTs = ts > t.alert.lastTs ? ts : t.alert.lastTs;
      for (const id of evidence) if (t.alert.evidence.length < MAX_EVIDENCE && !t.alert.evidence.includes(id)) t.alert.evidence.push(id);
      t.dirty = true;
      return;
    }
    const alert: AlertV1 = {
      id: randomUUID(), v: 1, ruleId: d.id, title: d.title, severity: (finding.severity ?? d.severity) as Severity,
      mitre: d.mitre, source: loaded.source, author: loaded.author, ts, lastTs: ts, host, proc,
      evidence: evidence.slice(0, MAX_EVIDENCE), reason: finding.reason, count: 1,
    };
    // A window that ended before tick() closed it: its repeat count goes out first (it was lost), and
    // the key goes to the back (insertion order is the windows' opening order).
    if (t) {
      if (t.dirty) this.opts.onAlert({ ...t.alert, evidence: [...t.alert.evidence] });
      this.throttled.delete(key);
    } else if (this.throttled.size >= MAX_THROTTLED) {
      this.closeOldestWindows();
    }
    this.throttled.set(key, { alert, windowEnd: now + (this.opts.throttleMs ?? 60_000), dirty: false });
    this.opts.onAlert(alert);
  }

  /**
   * Over the bound, the oldest eighth of the windows close early, as tick() closes them at their end
   * (a repeat count still pending goes out); a later repeat there raises a new alert.
   */
  private closeOldestWindows(): void {
    let n = MAX_THROTTLED >> 3;
    for (const [key, t] of this.throttled) {
      if (t.dirty) this.opts.onAlert({ ...t.alert, evidence: [...t.alert.evidence] });
      this.throttled.delete(key);
      if (--n === 0) break;
    }
  }

  /** Call every second or so: closes throttle windows (emitting repeat counts) and ages history. */
  tick(heartbeats: Iterable<ReceivedHeartbeat> = []): void {
    const now = this.now();
    for (const [key, t] of this.throttled) {
      if (now < t.windowEnd) continue;
      if (t.dirty) this.opts.onAlert({ ...t.alert, evidence: [...t.alert.evidence] });
      this.throttled.delete(key);
    }
    this.states.sweep();
    const list = [...heartbeats];
    this.checkSilence(list, now);
    this.checkProbeRestarts(list.map((r) => r.heartbeat), now);
    this.probeStalls.check(list, this.startedMs, (host, ts, finding) => this.raise({ detection: SENSOR_PROBE_STALLED, source: 'builtin', author: null }, host, null, ts, [], finding));
  }

  private readonly probeStalls = new ProbeStallWatch();

  /** Probes seen down (restarting or failed) since when, per host and probe (ms). */
  private readonly probeDownSince = new Map<string, Map<string, number>>();

  private perHost<V>(map: Map<string, Map<string, V>>, host: string): Map<string, V> {
    let m = map.get(host);
    if (!m) map.set(host, (m = new Map()));
    return m;
  }

  private checkProbeRestarts(heartbeats: HeartbeatV1[], now: number): void {
    for (const hb of heartbeats) {
      const due: { p: HeartbeatV1['probes'][number]; back: boolean }[] = [];
      const told = this.perHost(this.probeRestarts, hb.host);
      const down = this.perHost(this.probeDownSince, hb.host);
      // What a heartbeat no longer lists is forgotten: names a forged heartbeat made up stay nowhere.
      const listed = new Set(hb.probes.map((p) => p.name));
      for (const m of [told, down]) for (const name of m.keys()) if (!listed.has(name)) m.delete(name);
      for (const p of hb.probes) {
        const seen = told.get(p.name);
        // The first heartbeat seen sets the baseline: restarts before the control plane started are history.
        if (seen === undefined) { told.set(p.name, p.restarts); continue; }
        if (p.restarts <= seen) continue;
        // Told once the probe is back (the blind gap is known then), or when it has stayed down 30 s.
        const back = p.state === 'running' && p.lastExitTs !== undefined && p.lastRestartTs !== undefined;
        const downSince = down.get(p.name) ?? now;
        down.set(p.name, downSince);
        if (!back && now - downSince < 30_000) continue;
        told.set(p.name, p.restarts);
        down.delete(p.name);
        due.push({ p, back });
      }
      // Probes composed into one bpftrace process stop together: one alert for the process.
      const groups = new Map<string, typeof due>();
      for (const d of due) {
        const k = d.p.lastExitTs ? `exit:${d.p.lastExitTs}` : `down:${d.p.name}`;
        groups.set(k, [...(groups.get(k) ?? []), d]);
      }
      for (const group of groups.values()) {
        const { p, back } = group[0]!;
        const others = group.slice(1).map((d) => d.p.name);
        // Blind from the last flush read before the exit (or the stall before it), not from the exit.
        const gap = back ? ` blind for ${(Number(BigInt(p.lastRestartTs!) - BigInt(p.blindFromTs ?? p.lastExitTs!)) / 1e9).toFixed(1)} s;` : ' not running again after 30 s;';
        const shared = others.length ? ` (with ${others.join(', ')}: one bpftrace process)` : '';
        this.raise({ detection: SENSOR_PROBE_RESTART, source: 'builtin', author: null }, hb.host, null, p.lastExitTs ?? hb.ts, [], {
          reason: `probe ${p.name}${shared} on ${hb.host} stopped${back ? ' and was restarted' : ''} (${p.restarts} restarts so far);${gap} ${p.lastError ?? ''}`.trim(),
          subject: `probe:${[p.name, ...others].join(',')}`,
        });
      }
    }
  }

  /** By the time each heartbeat was received (this control plane's clock), not the time it claims. */
  private checkSilence(heartbeats: Iterable<ReceivedHeartbeat>, now: number): void {
    const after = this.opts.silentAfterMs ?? 30_000;
    for (const { heartbeat: hb, receivedMs: hbMs } of heartbeats) {
      if (hb.stopping) {
        // Stopped in order: not silent. Told once per stop; a stop from before this control plane
        // started (its heartbeat read back from storage) is history, like earlier probe restarts.
        this.silentHosts.delete(hb.host);
        if (this.stoppedTold.get(hb.host) === hb.ts) continue;
        this.stoppedTold.set(hb.host, hb.ts);
        if (hbMs < this.startedMs) continue;
        this.raise({ detection: SENSOR_STOPPED, source: 'builtin', author: null }, hb.host, null, hb.ts, [], {
          reason: `the sensor on ${hb.host} stopped in order (its process was told to stop) after ${hb.counters.eventsPublished} events published; nothing there is traced until it starts again`,
          subject: hb.startedTs,
        });
        continue;
      }
      // A heartbeat read back from storage gets `after` from this control plane's start: under
      // `vigil up` the control plane starts before its sensor, which then had no time to report.
      const ageMs = now - Math.max(hbMs, this.startedMs);
      if (ageMs <= after) { this.silentHosts.delete(hb.host); continue; }
      if (this.silentHosts.has(hb.host)) continue;
      this.silentHosts.add(hb.host);
      this.raise({ detection: SENSOR_SILENT, source: 'builtin', author: null }, hb.host, null, nowNs(), [], {
        reason: `no heartbeat from the sensor on ${hb.host} for ${Math.round(ageMs / 1000)} s (last received at ${new Date(hbMs).toISOString()}, ${hb.counters.eventsPublished} events published): stopped, killed, or cut off`,
      });
    }
  }

  private remember(ev: EventV1, state: ProcessState): void {
    const bytes = eventBytes(ev);
    this.states.addEvent(state, ev, bytes);
    // Calls on the device that names the GPU come early (context creation) and may be out of a busy
    // process's history by the time it allocates compute: the devices are kept apart.
    if (ev.kind === 'gpu') this.states.addGpuDevice(state, ev.gpu.device);
    if (ev.kind === 'exec') for (const a of ev.proc.ancestry.slice(0, LINEAGE_DEPTH)) this.states.addDescendant(this.states.ancestor(ev.host, a.pid), ev, bytes);
  }
}

const EMPTY: ReadonlySet<string> = new Set();

/** Kernel time order of two events. */
const byTs = (a: EventV1, b: EventV1): number => compareNs(a.ts, b.ts);

export const SENSOR_PROBE_RESTART: AnyDetection = {
  id: 'sensor.probe-restart',
  title: 'Sensor probe restarted',
  severity: 'high',
  mitre: ['T1562.001'],
  on: [],
  description: 'A bpftrace probe exited (killed, crashed) and was restarted: what happened in the gap was not seen.',
  match: () => null,
};

export const SENSOR_STOPPED: AnyDetection = {
  id: 'sensor.stopped',
  title: 'Sensor stopped',
  severity: 'medium',
  mitre: ['T1562.001'],
  on: [],
  description: 'A sensor stopped in order (its process was told to stop, by an operator or by anyone with root there): nothing on that host is traced until it starts again.',
  match: () => null,
};

export const SENSOR_SILENT: AnyDetection = {
  id: 'sensor.silent',
  title: 'Sensor went silent',
  severity: 'critical',
  mitre: ['T1562.001'],
  on: [],
  description: 'A sensor whose heartbeat stopped (killed, stopped, or cut off from NATS).',
  match: () => null,
};
