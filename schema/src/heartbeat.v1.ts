import { z } from 'zod/v4';
import { HostId, NsTimestamp } from './common.js';

/** Probe states one heartbeat may carry at most. */
export const MAX_PROBES = 32;

/** Closed blind intervals one probe state carries at most (the latest). */
export const MAX_RECENT_BLINDS = 8;

/** A time a probe saw nothing: from its last complete output to when it was live again (ns). */
export const BlindIntervalV1 = z.object({
  fromTs: NsTimestamp,
  toTs: NsTimestamp,
  /**
   * `stall`: its process stopped printing and then resumed (what the kernel buffered came out, less
   * the events counted lost); `exit`: its process exited or was killed and a new one attached (what
   * the old one buffered is gone; processes started meanwhile are recovered from /proc).
   */
  cause: z.enum(['stall', 'exit']),
});
export type BlindIntervalV1 = z.infer<typeof BlindIntervalV1>;

export const ProbeStateV1 = z.object({
  name: z.string().min(1).max(64),
  /**
   * `stalled`: its bpftrace process is there but its output stopped (no end-of-flush record for
   * seconds: stopped by a signal or a tracer, frozen, wedged); `blindFromTs` says since when.
   */
  state: z.enum(['starting', 'running', 'stalled', 'restarting', 'skipped', 'failed', 'stopped']),
  restarts: z.number().int().nonnegative(),
  lostEvents: z.number().int().nonnegative(),
  lastError: z.string().nullable(),
  /** When the probe last exited unplanned and when it was live again (ns). */
  lastExitTs: NsTimestamp.optional(),
  lastRestartTs: NsTimestamp.optional(),
  /**
   * Up to when its output is known complete (ns): the time its last end-of-flush record carries (for
   * a probe that prints none, the last time its process was seen running).
   */
  lastFlushTs: NsTimestamp.optional(),
  /**
   * The start of its last blind gap (ns): `lastFlushTs` when it last stalled or exited unplanned. The
   * gap runs to `lastRestartTs` after an exit, and is still open while the state is `stalled`.
   */
  blindFromTs: NsTimestamp.optional(),
  /** Times its output stalled since the sensor started (a stall that resumed between heartbeats too). */
  stalls: z.number().int().nonnegative().optional(),
  /** Blind intervals since the sensor started: the closed ones, and a stall still open. */
  blinds: z.number().int().nonnegative().optional(),
  /** The latest closed blind intervals, oldest first (each raises its own alert). */
  recentBlinds: z.array(BlindIntervalV1).max(MAX_RECENT_BLINDS).optional(),
  /** The bpftrace process, so that an attempt to kill it can be recognised. */
  pid: z.number().int().positive().optional(),
});
export type ProbeStateV1 = z.infer<typeof ProbeStateV1>;

/**
 * Upper bounds (ms) of the sensor's latency buckets. Bucket i counts the observations above bound
 * i-1 and at most bound i; one more bucket counts those above the last.
 */
export const LATENCY_BOUNDS_MS = [1, 2, 5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 1000, 2000, 5000] as const;

/** Observations of one stage since the sensor started (counts only grow: diff two heartbeats for a span). */
export const LatencyHistogramV1 = z.object({
  count: z.number().int().nonnegative(),
  sumMs: z.number().nonnegative(),
  maxMs: z.number().nonnegative(),
  buckets: z.array(z.number().int().nonnegative()),
});
export type LatencyHistogramV1 = z.infer<typeof LatencyHistogramV1>;

/**
 * The q-quantile of a histogram, as the upper bound of the bucket that holds it (the largest value
 * seen, if smaller or past the last bound): an upper estimate, never lower than the truth.
 */
export function latencyQuantile(
  h: LatencyHistogramV1,
  q: number,
  boundsMs: readonly number[] = LATENCY_BOUNDS_MS,
): number | null {
  if (h.count === 0) return null;
  const rank = Math.max(1, Math.ceil(q * h.count));
  let seen = 0;
  for (let i = 0; i < h.buckets.length; i++) {
    seen += h.buckets[i]!;
    if (seen >= rank) return i < boundsMs.length ? Math.min(boundsMs[i]!, h.maxMs) : h.maxMs;
  }
  return h.maxMs;
}

/**
 * Largest heartbeat the control plane takes (bytes of JSON). A sensor's is a few KiB; the control plane
 * keeps the last one of every host in memory, so a forged one naming thousands of reject reasons or
 * latency stages is refused, not kept.
 */
export const MAX_HEARTBEAT_BYTES = 64 * 1024;

/** Hosts the control plane tracks heartbeats of when not told otherwise (ControlPlaneConfig.maxHosts). */
export const DEFAULT_MAX_HOSTS = 1024;

export const HeartbeatV1 = z.object({
  v: z.literal(1),
  host: HostId,
  ts: NsTimestamp,
  sensorVersion: z.string(),
  startedTs: NsTimestamp,
  sensorPid: z.number().int().positive().optional(),
  /**
   * The heartbeat's number within its sensor run (startedTs, sensorPid), from 0: the control plane
   * takes only a heartbeat newer than the last it took of that run, so a copy re-published later
   * (to keep a killed sensor from looking silent) is refused. Without it, `ts` decides.
   */
  seq: z.number().int().nonnegative().optional(),
  counters: z.object({
    recordsRead: z.number().int().nonnegative(),
    eventsPublished: z.number().int().nonnegative(),
    eventsDropped: z.number().int().nonnegative(),
    lostEvents: z.number().int().nonnegative(),
    /** Rejected input by reason, e.g. "exec.schema", "line.json". */
    rejects: z.record(z.string(), z.number().int().nonnegative()),
    queueDepth: z.number().int().nonnegative(),
    /** Held on disk while NATS was away, waiting to be replayed. */
    spoolBytes: z.number().int().nonnegative().optional(),
    spoolEvents: z.number().int().nonnegative().optional(),
    processCacheSize: z.number().int().nonnegative(),
    /**
     * Records sent on when the merger's longest hold ran out rather than when every batching probe
     * had flushed past them (held exec and fork records, and the connect, GPU and failed-exec records
     * that wait for them).
     */
    heldToTimeout: z.number().int().nonnegative().optional(),
  }),
  /** The sensor's own memory, resident: its bpftrace processes, and the node process it runs in. */
  footprint: z
    .object({
      /** With `vigil up` the control plane and its embedded ClickHouse share this process. */
      processRssBytes: z.number().int().nonnegative(),
      probeRssBytes: z.number().int().nonnegative(),
      /** Resident compiler pages handed back to the kernel after bpftrace attached, summed over starts. */
      compilerRssReleasedBytes: z.number().int().nonnegative(),
      /**
       * CPU seconds (user + system) since the sensor started: its own process (with `vigil up`, the
       * control plane's too), and its bpftrace processes, running and exited (with the sensor's other
       * short helpers). Counts only grow: their rate is what the sensor costs the host.
       */
      processCpuSeconds: z.number().nonnegative().optional(),
      probeCpuSeconds: z.number().nonnegative().optional(),
    })
    .optional(),
  /** A sensor runs four probes; the bound keeps a forged heartbeat from naming thousands. */
  probes: z.array(ProbeStateV1).max(MAX_PROBES),
  /**
   * The last heartbeat of a sensor stopping in order (its process was told to stop): none follows,
   * and the control plane raises sensor.stopped for it instead of sensor.silent.
   */
  stopping: z.literal(true).optional(),
  /**
   * Where an event's time goes inside the sensor, by stage: `<probe>.read`, from the kernel to the
   * sensor reading the record (for a batching probe, the wait for its flush tick and bpftrace's
   * delivery); `<probe>.tick`, from a batching probe's tick to the sensor reading its end-of-flush
   * record (bpftrace's delivery alone); `<probe>.built`, from the kernel to its event being built
   * (after the merge that puts the probes' records back in order); `publish.sent` and
   * `publish.acked`, from an event being queued to its batch being published and acknowledged by
   * JetStream. One observation per exec, fork, exit, first connect and first GPU call; a window's
   * repeat counts (late by design) are not observed.
   */
  latency: z
    .object({
      boundsMs: z.array(z.number().positive()),
      stages: z.record(z.string(), LatencyHistogramV1),
    })
    .optional(),
});
export type HeartbeatV1 = z.infer<typeof HeartbeatV1>;
