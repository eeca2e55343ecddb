/**
 * Collects the three maps a windowed probe prints at the end of each window (`@<p>_count`,
 * `@<p>_first`, `@<p>_last`, in that order, with a 0 or 1 suffix) and hands back one entry per key once the last arrives.
 */
export interface WindowEntry {
  key: string;
  count: number;
  firstNs: number;
  lastNs: number;
}

export class WindowCollector {
  private counts: Record<string, number> | null = null;
  private firsts: Record<string, number> = {};

  constructor(private readonly prefix: string) {}

  /** Feeds one printed map; returns the window's entries when it is complete. */
  push(mapName: string, data: Record<string, number>): WindowEntry[] | null {
    // The probes alternate two sets of maps (suffix 0 and 1); both read the same.
    const name = mapName.replace(/[01]$/, '');
    if (name === `@${this.prefix}_count`) {
      this.counts = data;
      this.firsts = {};
      return null;
    }
    if (name === `@${this.prefix}_first`) {
      this.firsts = data;
      return null;
    }
    if (name !== `@${this.prefix}_last` || !this.counts) return null;
    const out = Object.entries(this.counts).map(([key, count]) => {
      const lastNs = data[key] ?? 0;
      return { key, count, firstNs: this.firsts[key] ?? lastNs, lastNs };
    });
    this.counts = null;
    this.firsts = {};
    return out;
  }
}
