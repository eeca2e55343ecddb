import type { AlertV1 } from '@vigil/schema';

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
 */
export class AlertThrottle {
  /** Insertion order is the windows' opening order. */
  private readonly windows = new Map<string, Window>();
  private readonly windowMs: number;
  private readonly maxOpen: number;
  private closedEarly = 0;

  constructor(private readonly opts: AlertThrottleOptions) {
    this.windowMs = opts.windowMs ?? DEFAULT_THROTTLE_MS;
    this.maxOpen = opts.maxOpen ?? MAX_OPEN_WINDOWS;
  }

  get stats(): AlertThrottleStats {
    return { open: this.windows.size, closedEarly: this.closedEarly };
  }

  /**
   * A finding for `key` at `ts`: folded into its open window, or else the alert `build` makes (called
   * only then) is sent and opens one.
   */
  offer(key: string, ts: string, evidence: readonly string[], build: () => AlertV1): void {
    const now = this.opts.now();
    const w = this.windows.get(key);
    if (w && now < w.end) {
      fold(w, ts, evidence);
      return;
    }
    const alert = build();
    // A window that ended before tick() closed it: its repeat count goes out first (it was lost), and
    // the key goes to the back.
    if (w) this.close(key, w);
    else if (this.windows.size >= this.maxOpen) this.closeOldest();
    this.windows.set(key, { alert, end: now + this.windowMs, dirty: false });
    this.opts.emit(alert);
  }

  /** Closes the windows that ended, sending the repeat counts they hold; call every second or so. */
  tick(): void {
    const now = this.opts.now();
    for (const [key, w] of this.windows) if (now >= w.end) this.close(key, w);
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
    if (w.dirty) this.opts.emit({ ...w.alert, evidence: [...w.alert.evidence] });
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
