import { LATENCY_BOUNDS_MS, type HeartbeatV1, type LatencyHistogramV1 } from '@vigil/schema';

/**
 * How long events take inside the sensor, by stage, as cumulative histograms (see HeartbeatV1's
 * `latency`). Observing is a map lookup and a short scan: it runs per record during an exec storm.
 */
export class StageLatency {
  private readonly stages = new Map<string, LatencyHistogramV1>();

  observe(stage: string, ms: number): void {
    let h = this.stages.get(stage);
    if (!h)
      this.stages.set(
        stage,
        (h = { count: 0, sumMs: 0, maxMs: 0, buckets: new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0) }),
      );
    // A clock resync can put a record a little before "now": count it as no wait.
    // A NaN (a clock read gone wrong) counts as 0, which Math.max would not do.
    // biome-ignore lint/complexity/useMathMinMax: NaN must map to 0
    const v = ms > 0 ? ms : 0;
    let i = 0;
    while (i < LATENCY_BOUNDS_MS.length && v > LATENCY_BOUNDS_MS[i]!) i++;
    h.buckets[i]!++;
    h.count++;
    h.sumMs += v;
    if (v > h.maxMs) h.maxMs = v;
  }

  snapshot(): NonNullable<HeartbeatV1['latency']> {
    const stages: Record<string, LatencyHistogramV1> = {};
    for (const [name, h] of this.stages)
      stages[name] = {
        ...h,
        sumMs: Math.round(h.sumMs * 1000) / 1000,
        maxMs: Math.round(h.maxMs * 1000) / 1000,
        buckets: [...h.buckets],
      };
    return { boundsMs: [...LATENCY_BOUNDS_MS], stages };
  }
}
