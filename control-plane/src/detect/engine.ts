import { randomUUID } from 'node:crypto';
import type { AlertV1, EventV1, ProcessV1, Severity } from '@vigil/schema';
import type { ReceivedHeartbeat } from '../ingest/heartbeats.js';
import type { DetectionConfig, DetectionContext, Finding } from './define.js';
import { ExeHashes } from './exe-hashes.js';
import { ImageIndex, type LoadedDetection } from './image-index.js';
import { byTs } from './ns-order.js';
import {
  PROCESS_STATE_LIMITS,
  ProcessStates,
  type ExecWithoutStart,
  type ProcessState,
  type ProcessStateStats,
} from './process-state.js';
import { AlertThrottle, type AlertThrottleStats, type Grouping, MAX_EVIDENCE } from './throttle.js';
import { commandShape } from './command-shape.js';
import { StdioPipes } from './stdio-pipes.js';
import { SensorHealth } from './builtin/health/index.js';

export type { LoadedDetection } from './image-index.js';

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

/** What raises an alert: the detection and where it came from. */
type Raiser = Pick<LoadedDetection, 'detection' | 'source' | 'author'>;

const EMPTY: ReadonlySet<string> = new Set();

/**
 * Runs detections over events as they arrive. The pieces: the image index picks the detections an
 * event meets; the per-process state keeps each process's recent history, what it started and its
 * flags within a byte budget; the throttle folds repeats per (rule, host, process); the sensor-health
 * built-ins raise from heartbeats. A detection that throws is counted, never fatal.
 */
export class DetectionEngine {
  private readonly index = new ImageIndex();
  private readonly exeHashes = new ExeHashes();
  private readonly stdioPipes: StdioPipes;
  private readonly states: ProcessStates;
  private readonly throttle: AlertThrottle;
  private readonly health: SensorHealth;
  /** The process of the event being evaluated: a detection asking about its own pid means this one. */
  private evaluating: ProcessState | null = null;
  /** The event being evaluated (not yet in its process's history): an alert raised now names it first. */
  private evaluatingEvent: EventV1 | null = null;
  private readonly ctx: DetectionContext;
  readonly errors = new Map<string, number>();
  readonly fired = new Map<string, number>();
  private readonly now: () => number;

  constructor(opts: EngineOptions) {
    this.now = opts.now ?? Date.now;
    this.stdioPipes = new StdioPipes(this.now);
    this.states = new ProcessStates({
      ...PROCESS_STATE_LIMITS,
      budgetBytes: opts.stateBudgetBytes ?? PROCESS_STATE_LIMITS.budgetBytes,
      now: this.now,
    });
    this.throttle = new AlertThrottle({ windowMs: opts.throttleMs, emit: opts.onAlert, now: this.now });
    this.health = new SensorHealth({
      silentAfterMs: opts.silentAfterMs,
      startedMs: this.now(),
      raise: (detection, host, ts, finding) =>
        this.raise({ detection, source: 'builtin', author: null }, host, null, ts, [], finding),
    });
    this.ctx = {
      config: opts.config,
      recent: (host, pid) => this.stateOf(host, pid)?.history ?? [],
      descendantExecs: (host, pid) => this.stateOf(host, pid)?.descendants ?? [],
      gpuDevices: (host, pid) => this.stateOf(host, pid)?.gpuDevices ?? EMPTY,
      flagged: (host, pid) => this.stateOf(host, pid)?.flags ?? EMPTY,
      hasAncestor: (proc, pred) => proc.ancestry.some(pred),
      exeHash: (host, proc) => this.exeHashes.of(host, proc),
      toolOf: (host, proc) => this.exeHashes.toolOf(host, proc),
      stdioPeers: (host, ino) => this.stdioPipes.peers(host, ino),
    };
  }

  setDetections(list: LoadedDetection[]): void {
    this.index.set(list);
  }

  list(): LoadedDetection[] {
    return this.index.list();
  }

  /** Alert windows open, and findings folded into group alerts (storms) or past a rate cap. */
  get throttleStats(): AlertThrottleStats {
    return this.throttle.stats;
  }

  /** What the per-process state holds and what it let go, by reason. */
  get stateStats(): ProcessStateStats {
    return this.states.stats;
  }

  /**
   * Forgets the per-process state (histories, descendants, flags) of the hosts `isIn` names: their
   * events now reach another control-plane replica, and state kept here would meet them again, stale,
   * should they come back. Returns the processes let go.
   */
  forgetHosts(isIn: (host: string) => boolean): number {
    return this.states.forgetHosts(isIn);
  }

  /** Evaluates the events that arrived together, oldest first (they mix probes; order by kernel time). */
  process(events: EventV1[]): void {
    for (const ev of [...events].sort(byTs)) {
      const { host, proc } = ev;
      this.exeHashes.observe(ev);
      // Before evaluation: the second end of a pipe to exec finds the first, whichever it is.
      if (ev.kind === 'exec') this.stdioPipes.observe(ev);
      // An exec without a start time is a process the sensor saw no fork of: a new one for its pid
      // (or, after failed execs, the same one trying the next directory of PATH).
      const execOutcome: ExecWithoutStart =
        ev.kind !== 'exec' || proc.startTs !== null
          ? null
          : ev.exec.ret !== null && ev.exec.ret !== 0
            ? 'failed'
            : 'succeeded';
      const state = this.states.resolve(host, proc.pid, proc.startTs, execOutcome);
      this.evaluating = state;
      this.evaluatingEvent = ev;
      try {
        this.evaluate(ev, state);
      } finally {
        this.evaluating = null;
        this.evaluatingEvent = null;
      }
      this.states.record(state, ev);
      if (ev.kind === 'exit') this.states.exit(state);
    }
  }

  /**
   * Raises an alert from outside an event (SQL detections, sensor health). Its flag goes to the process
   * of that start time, or without one to the live process of that pid (as an event without one would).
   */
  raise(loaded: Raiser, host: string, proc: ProcessV1 | null, ts: string, evidence: string[], finding: Finding): void {
    const state = proc ? this.states.resolve(host, proc.pid, proc.startTs) : null;
    this.raiseFor(loaded, host, proc, state, ts, evidence, finding);
  }

  /** The events an alert names as evidence that are still held: the one under evaluation, its process's history. */
  evidenceOf(alert: AlertV1): EventV1[] {
    const ids = new Set(alert.evidence);
    const held = alert.proc ? (this.stateOf(alert.host, alert.proc.pid)?.history ?? []) : [];
    return [this.evaluatingEvent, ...held].filter((ev): ev is EventV1 => ev !== null && ids.has(ev.id));
  }

  /** Call every second or so: closes throttle windows (emitting repeat counts), ages state, checks sensors. */
  tick(heartbeats: Iterable<ReceivedHeartbeat> = []): void {
    this.throttle.tick();
    this.states.sweep();
    this.stdioPipes.sweep();
    this.health.check(heartbeats, this.now());
  }

  private evaluate(ev: EventV1, state: ProcessState): void {
    for (const loaded of this.index.candidates(ev)) {
      const d = loaded.detection;
      let finding: Finding | null | undefined;
      try {
        finding = d.match(ev as never, this.ctx);
      } catch {
        this.errors.set(d.id, (this.errors.get(d.id) ?? 0) + 1);
        continue;
      }
      if (!finding) continue;
      const evidence = [ev.id, ...(finding.evidence ?? [])];
      if (finding.proc && finding.proc.pid !== ev.proc.pid)
        this.raise(loaded, ev.host, finding.proc, ev.ts, evidence, finding);
      else this.raiseFor(loaded, ev.host, ev.proc, state, ev.ts, evidence, finding);
    }
  }

  private raiseFor(
    loaded: Raiser,
    host: string,
    proc: ProcessV1 | null,
    state: ProcessState | null,
    ts: string,
    evidence: string[],
    finding: Finding,
  ): void {
    const d = loaded.detection;
    this.fired.set(d.id, (this.fired.get(d.id) ?? 0) + 1);
    // Flags live and go with the process's state (its budget, its exit, its age).
    if (state) this.states.flag(state, d.id);
    // Per process, (host, pid, start time): a pid taken again by another process opens its own window.
    const key = `${d.id}|${host}|${proc?.pid ?? 0}|${proc?.startTs ?? ''}|${proc?.exe ?? ''}|${finding.subject ?? ''}`;
    // Processes of one command shape, and a rule's alerts on a host, are grouped past a few (throttle.ts).
    const group: Grouping | undefined = proc
      ? {
          shape: `${d.id}|${host}|${finding.severity ?? d.severity}|${commandShape(proc)}|${finding.subject ?? ''}`,
          rate: `${d.id}|${host}`,
          sample: { pid: proc.pid, startTs: proc.startTs, ts, event: evidence[0] ?? '' },
        }
      : undefined;
    this.throttle.offer(
      key,
      ts,
      evidence,
      () => ({
        id: randomUUID(),
        v: 1,
        ruleId: d.id,
        title: d.title,
        severity: (finding.severity ?? d.severity) as Severity,
        mitre: d.mitre,
        source: loaded.source,
        author: loaded.author,
        ts,
        lastTs: ts,
        host,
        proc,
        evidence: evidence.slice(0, MAX_EVIDENCE),
        reason: finding.reason,
        count: 1,
      }),
      group,
    );
  }

  /**
   * The state a detection means by (host, pid): the evaluated event's own process for its pid (a late
   * event of a process whose pid is taken again is still its own), else the newest process of that pid.
   */
  private stateOf(host: string, pid: number): ProcessState | undefined {
    const e = this.evaluating;
    return e && e.pid === pid && e.host === host ? e : this.states.lookup(host, pid);
  }
}
