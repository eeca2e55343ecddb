import type { ConnectionOptions } from 'nats';
import type { Logger } from 'pino';
import { runSteps, type HeartbeatV1 } from '@vigil/schema';
import { DEFAULT_PROBES_DIR, type ProbeName } from './probes/registry.js';
import type { ProbeSupervisor } from './probes/supervisor.js';
import type { ExtraGpuDevice } from './gpu/devices.js';
import type { Counters } from './counters.js';
import type { StageLatency } from './latency.js';
import { makeParts } from './startup/parts.js';
import { heartbeatStep, natsStep, probesStep, processCacheStep, tracefsStep } from './startup/steps.js';
import { responseStep } from './startup/response-step.js';

export { SENSOR_VERSION } from './startup/parts.js';

export { DEFAULT_PROBES_DIR };

export interface SensorConfig {
  hostId?: string;
  /** The version its heartbeats report: the installed CLI's (a bundle's own); default SENSOR_VERSION. */
  version?: string;
  nats: ConnectionOptions;
  probesDir?: string;
  bpftrace?: string;
  /** Seconds per aggregation window of the connect and GPU probes. */
  windowSeconds?: number;
  heartbeatSeconds?: number;
  gpuDevices?: ExtraGpuDevice[];
  probes?: ProbeName[];
  /** One bpftrace process per probe instead of one for all (more memory; failures stay apart). */
  separateProbes?: boolean;
  maxQueue?: number;
  /**
   * Ancestors each event carries, nearest first (default 16; 0: none, `ancestryTruncated` then says
   * there were some). Detections that look up the chain (a shell under the job) see only this far.
   */
  ancestryDepth?: number;
  /** Where events wait on disk while NATS is away (none: memory only). */
  spoolDir?: string;
  spoolMaxBytes?: number;
  /**
   * Once bpftrace has attached, ask the kernel to reclaim the compiler it no longer runs (about
   * 70 MiB of LLVM and clang text; see sensor/native/pageout.c). Default: true.
   */
  releaseCompilerPages?: boolean;
  pageoutHelper?: string;
  /** Seconds without an end-of-flush record before a probe is reported stalled (default 3). */
  probeStallSeconds?: number;
  /**
   * Seconds a stall is reported before the sensor acts on it (default 2): SIGCONT to a bpftrace
   * stopped by a signal, and as long again later, a kill and restart if it is still silent.
   */
  probeStallActSeconds?: number;
  /**
   * The control plane's public response key (Ed25519, PEM file): with it the sensor carries out the
   * kill orders it signs (response/); without it, it takes no orders.
   */
  responseKeyFile?: string;
  /** Processes never to kill, nor their descendants (`vigil up`: itself, with the control plane, and nats-server). */
  protectedPids?: number[];
  log: Logger;
}

export interface RunningSensor {
  host: string;
  counters: Counters;
  latency: StageLatency;
  probes: Map<ProbeName, ProbeSupervisor>;
  heartbeat: () => HeartbeatV1;
  stop: () => Promise<void>;
}

/**
 * The sensor's data path, wired in order: probes -> decode and route (assemble/router.ts) -> build
 * events (assemble/event-builder.ts) -> publish (export/). Each step (startup/steps.ts) starts one
 * part and returns its stop; they stop in reverse order, so what the last flushes bring in goes out
 * before the publisher stops.
 */
export async function startSensor(cfg: SensorConfig): Promise<RunningSensor> {
  const p = makeParts(cfg);
  const stop = await runSteps(
    [
      tracefsStep(p),
      processCacheStep(p),
      natsStep(cfg, p),
      probesStep(cfg, p),
      responseStep(cfg, p),
      heartbeatStep(cfg, p),
    ],
    p.log,
  );
  return {
    host: p.host,
    counters: p.counters,
    latency: p.latency,
    probes: p.supervisors,
    heartbeat: p.heartbeat,
    stop,
  };
}
