/**
 * Probe timestamps are bpf_ktime_get_ns (CLOCK_MONOTONIC); events carry wall-clock ns since the epoch.
 * The offset is sampled at start and re-sampled on demand to follow clock steps.
 */
export class KtimeClock {
  private offset = 0n;

  constructor() {
    this.resync();
  }

  resync(): void {
    this.offset = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
  }

  toWall(ktimeNs: number): string {
    return (BigInt(Math.round(ktimeNs)) + this.offset).toString();
  }

  /** Now on the probes' clock, in ns (Node's hrtime is CLOCK_MONOTONIC too). */
  nowKtime(): number {
    return Number(process.hrtime.bigint());
  }

  nowWall(): string {
    return (process.hrtime.bigint() + this.offset).toString();
  }
}
