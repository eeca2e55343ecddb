import type { AlertSampleV1, AlertV1 } from '@vigil/schema';

/** Evidence ids one alert carries at most, across its repeats. */
export const MAX_EVIDENCE = 20;
/** Repeats within this long of an alert update it instead of raising new ones, unless told otherwise. */
export const DEFAULT_THROTTLE_MS = 60_000;
/**
 * Open windows at most. Each holds its alert (and through it the process and its ancestry) until the
 * window ends: one host raising alerts for new processes (a noisy rule in an exec storm, a hostile
 * publisher numbering pids) would otherwise hold a minute of them, without bound.
 */
export const MAX_OPEN_WINDOWS = 20_000;
/** Processes of one command shape (per rule and host) that get an alert each within a window. */
export const SEPARATE_PER_SHAPE = 5;
/** Alerts one rule opens on one host within a window before the rest fold into one. */
export const RATE_CAP_PER_RULE_HOST = 100;
const MAX_SAMPLES = 5;

/**
 * How an alert may be grouped with others (see AlertThrottle). `shape`: rule, host, command shape
 * and subject; `rate`: rule and host; `sample`: the process, for the group's samples.
 */
export interface Grouping {
  shape: string;
  rate: string;
  sample: AlertSampleV1;
}

export interface AlertThrottleOptions {
  windowMs?: number;
  maxOpen?: number;
  /** Where alerts go: new ones, and an open one again when its window closes with repeats pending. */
  emit: (alert: AlertV1) => void;
  now: () => number;
}

export interface AlertThrottleStats {
  /** Windows open now. */
  open: number;
  /** Windows closed before their end because too many were open. */
  closedEarly: number;
  /** Findings folded into a group alert: processes past the first few of one command shape. */
  groupedByShape: number;
  /** Findings folded into a rule's overflow alert on a host past its rate cap. */
  overRateCap: number;
}

/** Per shape or per (rule, host): how many alerts it opened in its window. */
interface Tally {
  opened: number;
  end: number;
}

interface Window {
  alert: AlertV1;
  end: number;
  /** Repeats folded in since it was last sent. */
  dirty: boolean;
}

/**
 * Throttles alerts per key (the engine's key is rule, host, process and subject): the first raises an
 * alert and opens a window; repeats within it update that alert (count, last time, evidence), which
 * goes out again when the window closes. The open windows are bounded: over the bound the oldest
 * eighth close early, their pending counts sent, and a later repeat there raises a new alert.
 *
 * Storms are grouped: within a window, the first SEPARATE_PER_SHAPE processes of one command shape
 * raise an alert each (so each small attack keeps its own alert and process), the rest fold into one
 * group alert that counts them and samples a few; past RATE_CAP_PER_RULE_HOST alerts of one rule on
 * one host, the rest fold into one overflow alert. Nothing is dropped: every finding is counted.
 */
export class AlertThrottle {
  /** Insertion order is the windows' opening order. */
  private readonly windows = new Map<string, Window>();
  private readonly windowMs: number;
  private readonly maxOpen: number;
  private closedEarly = 0;
  private groupedByShape = 0;
  private overRateCap = 0;
  private readonly tallies = new Map<string, Tally>();

  constructor(private readonly opts: AlertThrottleOptions) {
    this.windowMs = opts.windowMs ?? DEFAULT_THROTTLE_MS;
    this.maxOpen = opts.maxOpen ?? MAX_OPEN_WINDOWS;
  }

  get stats(): AlertThrottleStats {
    return {
      open: this.windows.size,
      closedEarly: this.closedEarly,
      groupedByShape: this.groupedByShape,
      overRateCap: this.overRateCap,
    };
  }

  /**
   * A finding for `key` at `ts`: folded into its open window, or else the alert `build` makes (called
   * only then) is sent and opens one.
   */
  offer(key: string, ts: string, evidence: readonly string[], build: () => AlertV1, group?: Grouping): void {
    const now = this.opts.now();
    const w = this.windows.get(key);
    if (w && now < w.end) {
      fold(w, ts, evidence);
      return;
    }
    if (group) {
      const shape = this.tally(`s|${group.shape}`, now);
      if (shape.opened >= SEPARATE_PER_SHAPE) {
        this.groupedByShape++;
        this.offerGroup(`g|${group.shape}`, 'command-shape', ts, evidence, build, group.sample, now);
        return;
      }
      const rate = this.tally(`r|${group.rate}`, now);
      if (rate.opened >= RATE_CAP_PER_RULE_HOST) {
        this.overRateCap++;
        this.offerGroup(`c|${group.rate}`, 'rate-cap', ts, evidence, build, group.sample, now);
        return;
      }
      shape.opened++;
      rate.opened++;
    }
    this.open(key, build(), w, now);
  }

  /** Folds a finding into the group alert of `key`, raising it with this finding when none is open. */
  private offerGroup(
    key: string,
    by: 'command-shape' | 'rate-cap',
    ts: string,
    evidence: readonly string[],
    build: () => AlertV1,
    sample: AlertSampleV1,
    now: number,
  ): void {
    const w = this.windows.get(key);
    if (w && now < w.end) {
      fold(w, ts, evidence);
      const g = w.alert.grouped!;
      g.processes++;
      if (g.samples.length < MAX_SAMPLES) g.samples.push(sample);
      return;
    }
    const alert = build();
    alert.grouped = { by, processes: 1, samples: [] };
    alert.reason =
      by === 'command-shape'
        ? `${alert.reason} (and every further process of this command shape on this host in the window: see count)`
        : `${alert.reason} (past this rule's rate cap on this host: the rest of its alerts in the window are counted here)`;
    this.open(key, alert, w, now);
  }

  private open(key: string, alert: AlertV1, ended: Window | undefined, now: number): void {
    // A window that ended before tick() closed it: its repeat count goes out first (it was lost), and
    // the key goes to the back.
    if (ended) this.close(key, ended);
    else if (this.windows.size >= this.maxOpen) this.closeOldest();
    this.windows.set(key, { alert, end: now + this.windowMs, dirty: false });
    this.opts.emit(alert);
  }

  /** Closes the windows that ended, sending the repeat counts they hold; call every second or so. */
  tick(): void {
    const now = this.opts.now();
    for (const [key, w] of this.windows) if (now >= w.end) this.close(key, w);
    for (const [key, t] of this.tallies) if (now >= t.end) this.tallies.delete(key);
  }

  /** The tally of `key` in its current window; bounded like the windows (the oldest go first). */
  private tally(key: string, now: number): Tally {
    let t = this.tallies.get(key);
    if (t && now < t.end) return t;
    this.tallies.delete(key);
    if (this.tallies.size >= 2 * this.maxOpen) this.tallies.delete(this.tallies.keys().next().value!);
    t = { opened: 0, end: now + this.windowMs };
    this.tallies.set(key, t);
    return t;
  }

  private closeOldest(): void {
    let n = Math.max(1, this.maxOpen >> 3);
    for (const [key, w] of this.windows) {
      this.close(key, w);
      this.closedEarly++;
      if (--n === 0) break;
    }
  }

  private close(key: string, w: Window): void {
    const g = w.alert.grouped;
    if (w.dirty)
      this.opts.emit({
        ...w.alert,
        evidence: [...w.alert.evidence],
        ...(g ? { grouped: { ...g, samples: [...g.samples] } } : {}),
      });
    this.windows.delete(key);
  }
}

function fold(w: Window, ts: string, evidence: readonly string[]): void {
  const a = w.alert;
  a.count++;
  if (ts > a.lastTs) a.lastTs = ts;
  for (const id of evidence) if (a.evidence.length < MAX_EVIDENCE && !a.evidence.includes(id)) a.evidence.push(id);
  w.dirty = true;
}
