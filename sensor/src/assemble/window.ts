/**
 * Collects the maps a windowed probe prints at the end of each window (`@<p>_count`, `@<p>_first`,
 * any extra ones such as tcp's `@tcp_dmax`, then `@<p>_last`, in that order, with a 0 or 1 suffix)
 * and hands back one entry per key once the last arrives.
 */
export interface WindowEntry {
  key: string;
  count: number;
  firstNs: number;
  lastNs: number;
  /** The key's values in the extra maps (absent where the map has no entry for it). */
  extra?: Record<string, number | undefined>;
}

export class WindowCollector {
  private counts: Record<string, number> | null = null;
  private firsts: Record<string, number> = {};
  private extras: Record<string, Record<string, number>> = {};

  constructor(
    private readonly prefix: string,
    private readonly extraMaps: readonly string[] = [],
  ) {}

  /** Feeds one printed map; returns the window's entries when it is complete. */
  push(mapName: string, data: Record<string, number>): WindowEntry[] | null {
    // The probes alternate two sets of maps (suffix 0 and 1); both read the same.
    const name = mapName.replace(/[01]$/, '');
    if (name === `@${this.prefix}_count`) {
      this.counts = data;
      this.firsts = {};
      this.extras = {};
      return null;
    }
    if (name === `@${this.prefix}_first`) {
      this.firsts = data;
      return null;
    }
    const extra = this.extraMaps.find((x) => name === `@${this.prefix}_${x}`);
    if (extra) {
      this.extras[extra] = data;
      return null;
    }
    if (name !== `@${this.prefix}_last` || !this.counts) return null;
    const out = Object.entries(this.counts).map(([key, count]) => {
      const lastNs = data[key] ?? 0;
      const extra = Object.fromEntries(this.extraMaps.map((x) => [x, this.extras[x]?.[key]]));
      return { key, count, firstNs: this.firsts[key] ?? lastNs, lastNs, extra };
    });
    this.counts = null;
    this.firsts = {};
    this.extras = {};
    return out;
  }
}
