import type { AncestorV1, EventKind, EventV1, ExecEventV1, ProcessV1, Severity } from '@vigil/schema';

export type EventOf<K extends EventKind> = Extract<EventV1, { kind: K }>;

export interface Finding {
  /** What happened, for a person. */
  reason: string;
  /** Other events (ids) that make the case, beside the one matched. */
  evidence?: string[];
  /** Overrides the detection's severity for this finding (e.g. ranked higher from a writable place). */
  severity?: Severity;
  /** What the alert is about when it is not a process (e.g. a probe): repeats are throttled per it. */
  subject?: string;
  /**
   * The process the alert is about when not the event's: the shell of a pipeline, found from its
   * writer's connect. Its repeats are throttled with its own.
   */
  proc?: ProcessV1;
}

export interface ExpectedGpuConfig {
  /** Globs of executables expected to use GPUs (training workloads). */
  exe: string[];
  /** Cgroup path globs whose processes are expected GPU users (e.g. the scheduler's job slices). */
  cgroup: string[];
}

export interface DetectionConfig {
  expectedGpu: ExpectedGpuConfig;
  /** Pids of the sensor and its probes, per host (from heartbeats). */
  sensorPids: (host: string) => Set<number>;
}

/**
 * What a detection may ask beyond the event: the process's recent history and the configuration.
 * A process is (host, pid, start time): asked with the event's own pid, each call answers for the
 * event's process; with another pid (an ancestor's: ancestry carries no start time), for the newest
 * process seen with that pid. Nothing carries over to a later process that takes the same pid.
 */
export interface DetectionContext {
  config: DetectionConfig;
  /** Recent events of this (host, pid), oldest first, the current one excluded. */
  recent(host: string, pid: number): readonly EventV1[];
  /** Recent execs (newest last) whose ancestry holds this (host, pid): what it started, at any depth. */
  descendantExecs(host: string, pid: number): readonly EventV1[];
  /** GPU device nodes this (host, pid) has made ioctls on, in first-use order (kept as long as its history). */
  gpuDevices(host: string, pid: number): ReadonlySet<string>;
  /** Alerts already raised for this (host, pid), by rule id. */
  flagged(host: string, pid: number): ReadonlySet<string>;
  hasAncestor(proc: ProcessV1, pred: (a: AncestorV1) => boolean): boolean;
  /**
   * SHA-256 of what the process runs: its event's own (`proc.exeHash`), else the last reported for its
   * path on its host (the sensor's `exe` events, which may come after the process's first events).
   */
  exeHash(host: string, proc: ProcessV1): string | undefined;
  /**
   * The well-known tool the process runs by content (`ssh`, `socat`, `bash`, … from KNOWN_TOOLS),
   * whatever it is called: a copy of the host's ssh under /tmp/x answers "ssh". Undefined until its
   * hash and the host's reference hash are both known.
   */
  toolOf(host: string, proc: ProcessV1): string | undefined;
  /**
   * Recent execs on this host (oldest first, minutes back) with an anonymous pipe of this inode on
   * fd 0, 1 or 2 (`exec.stdio`): the other end of a pipeline, e.g. the `curl` whose fd 1 feeds a
   * shell's fd 0. The evaluated exec itself is among them once recorded, so filter it out by pid.
   */
  stdioPeers(host: string, ino: number): readonly ExecEventV1[];
}

export interface Detection<K extends EventKind = EventKind> {
  id: string;
  title: string;
  severity: Severity;
  mitre: string[];
  /** Event kinds it looks at. */
  on: readonly K[];
  description?: string;
  author?: string;
  /**
   * Index hint: lower-case basenames of the images it can match (see imageOf); the engine does not
   * call `match` for an event whose image is none of them. Sigma rules derive it from their
   * conditions; a detection without it sees every event of its kinds.
   */
  images?: readonly string[];
  /**
   * How its findings may rank other than `severity` (Finding.severity): the range and the rule, as
   * `vigil detections list` shows them. Without it every finding ranks `severity`.
   */
  ranks?: { min: Severity; max: Severity; rule: string };
  match(ev: EventOf<K>, ctx: DetectionContext): Finding | null | undefined;
}

/** The image an event is about as Sigma's Image reads it: the process's exe, else the file an exec ran. */
export const imageOf = (ev: EventV1): string => (ev.kind === 'exec' ? ev.proc.exe || ev.exec.filename : ev.proc.exe);

/** Declares a detection; `on` types the events `match` receives. */
export function defineDetection<K extends EventKind>(d: Detection<K>): Detection<K> {
  return d;
}

/** A detection of any kinds, as registries hold them (the engine only hands it the kinds in `on`). */
export interface AnyDetection extends Omit<Detection, 'match'> {
  match(ev: never, ctx: DetectionContext): Finding | null | undefined;
}
