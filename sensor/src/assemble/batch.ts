/**
 * Probes that buffer in kernel maps (exec, proc) print each flush as a few maps followed by an
 * end-of-flush record. BatchCollector gathers one flush's maps; BatchMerger puts the records of several
 * such probes back in kernel-time order before anything acts on them.
 */

/**
 * The maps of one probe's current flush, by name without the epoch suffix (0 or 1). A flush may print
 * both sets of a map (END does, since a tick's print of the other set can be drained after it), and,
 * at stop, the same set twice (a tick's print read before SIGINT, END's after it): a set printed again
 * replaces its earlier print, and the two sets are merged. Their keys are distinct (pid, ns) except in
 * the `_sent` maps, where each set counts its own writes under the same key: those are summed.
 */
export class BatchCollector {
  private sets = new Map<string, Record<string, unknown>>();
  private last: ReadonlyMap<string, Record<string, unknown>> | undefined;
  /**
   * The flush before the one `end()` handed back last: a probe's writer stalled past its set's print
   * names its write in the next flush, and only the flush before says whether the print caught it.
   */
  before: ReadonlyMap<string, Record<string, unknown>> | undefined;

  push(mapName: string, data: Record<string, unknown>): void {
    this.sets.set(mapName, data);
  }

  /** The flush is over: hands its maps back and starts the next. */
  end(): ReadonlyMap<string, Record<string, unknown>> {
    const out = new Map<string, Record<string, unknown>>();
    for (const [mapName, data] of this.sets) {
      const name = mapName.replace(/[01]$/, '');
      const seen = out.get(name);
      if (!seen) {
        out.set(name, data);
        continue;
      }
      for (const [k, v] of Object.entries(data)) {
        const prev = seen[k];
        seen[k] = typeof prev === 'number' && typeof v === 'number' ? prev + v : v;
      }
    }
    this.sets = new Map();
    this.before = this.last;
    this.last = out;
    return out;
  }
}

/**
 * Each probe flushes on its own timer, so a short-lived process's fork and exit (proc.bt) can be
 * printed before its exec (exec.bt). Records are held until every running source has flushed past
 * them (the low watermark of their end-of-flush times) and released in kernel-time order. A source
 * that is not running is not waited for, and nothing is held longer than `maxHoldMs`: an idle source
 * prints its end-of-flush record rarely, but prints anything written within one tick, so once a few
 * ticks have passed nothing before a held record can still come.
 */
export class BatchMerger<T extends { ns: number }> {
  private held: { r: T; at: number }[] = [];
  private readonly marks = new Map<string, number>();
  /**
   * Records let go by `maxHoldMs` while still above the watermark: each was delayed by the whole
   * hold, because a source's end-of-flush record came late or, idle, not within the hold.
   */
  heldToTimeout = 0;

  constructor(
    private readonly running: () => string[],
    private readonly maxHoldMs = 1000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get size(): number {
    return this.held.length;
  }

  /** One flush of `source`, which covers every record before `markNs`; returns what is now in order. */
  add(source: string, records: T[], markNs: number): T[] {
    const at = this.now();
    for (const r of records) this.held.push({ r, at });
    // A flush drained out of order at stop (see exec.bt's END) can mark an earlier time: keep the later.
    this.marks.set(source, Math.max(this.marks.get(source) ?? -Infinity, markNs));
    return this.release();
  }

  /**
   * Records printed as they happen (a connect, a GPU call, a failed exec): they wait for the exec
   * and fork before them, which a running source may still hold in its maps, so that the process
   * they name is already known. Anything held is newer than the watermark, so what is below it can
   * go at once without a pass over the held records.
   */
  hold(records: T[]): T[] {
    const mark = this.watermark();
    const at = this.now();
    const out: T[] = [];
    for (const r of records)
      if (r.ns < mark) out.push(r);
      else this.held.push({ r, at });
    return out.length > 1 ? out.sort((a, b) => a.ns - b.ns) : out;
  }

  private watermark(): number {
    let mark = Infinity;
    for (const s of this.running()) mark = Math.min(mark, this.marks.get(s) ?? -Infinity);
    return mark;
  }

  /** Records below the watermark, oldest first; with `all`, everything held. */
  release(all = false): T[] {
    if (this.held.length === 0) return [];
    const mark = all ? Infinity : this.watermark();
    const stale = this.now() - this.maxHoldMs;
    const out: { r: T; at: number }[] = [];
    const keep: { r: T; at: number }[] = [];
    for (const h of this.held) {
      if (h.r.ns < mark) out.push(h);
      else if (h.at <= stale) {
        out.push(h);
        this.heldToTimeout++;
      } else keep.push(h);
    }
    this.held = keep;
    return out.map((h) => h.r).sort((a, b) => a.ns - b.ns);
  }
}
