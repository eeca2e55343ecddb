import { z } from 'zod/v4';
import { HostId, NsTimestamp } from './common.js';

export const ProbeStateV1 = z.object({
  name: z.string(),
  state: z.enum(['starting', 'running', 'restarting', 'skipped', 'failed', 'stopped']),
  restarts: z.number().int().nonnegative(),
  lostEvents: z.number().int().nonnegative(),
  lastError: z.string().nullable(),
  /** When the probe last exited unplanned and when it was live again (ns): the blind gap. */
  lastExitTs: NsTimestamp.optional(),
  lastRestartTs: NsTimestamp.optional(),
  /** The bpftrace process, so that an attempt to kill it can be recognised. */
  pid: z.number().int().positive().optional(),
});
export type ProbeStateV1 = z.infer<typeof ProbeStateV1>;

export const HeartbeatV1 = z.object({
  v: z.literal(1),
  host: HostId,
  ts: NsTimestamp,
  sensorVersion: z.string(),
  startedTs: NsTimestamp,
  sensorPid: z.number().int().positive().optional(),
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
  footprint: z.object({
    /** With `vigil up` the control plane and its embedded ClickHouse share this process. */
    processRssBytes: z.number().int().nonnegative(),
    probeRssBytes: z.number().int().nonnegative(),
    /** Resident compiler pages handed back to the kernel after bpftrace attached, summed over starts. */
    compilerRssReleasedBytes: z.number().int().nonnegative(),
  }).optional(),
  probes: z.array(ProbeStateV1),
});
export type HeartbeatV1 = z.infer<typeof HeartbeatV1>;
