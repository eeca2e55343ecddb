import { readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import type { ConnectionOptions } from 'nats';
import type { Logger } from 'pino';
import { hostIdFrom, runSteps, type EventV1, type HeartbeatV1 } from '@vigil/schema';
import { DEFAULT_PROBES_DIR, DEFAULT_PROBES, BPFTRACE_STRLEN, type ProbeName } from './probes/registry.js';
import type { ProbeSupervisor } from './probes/supervisor.js';
import { startProbes } from './probes/compose-or-separate.js';
import { ProcessCache } from './process/cache.js';
import { ExeHasher } from './process/exe-identity.js';
import { ConfigReader } from './process/config-files.js';
import { requestReferenceHashes } from './process/reference-tools.js';
import { recoverBlindExecs } from './process/blind-recovery.js';
import { GpuDeviceMap, type ExtraGpuDevice } from './gpu/devices.js';
import { EventBuilder } from './assemble/event-builder.js';
import { RecordRouter } from './assemble/router.js';
import { KtimeClock } from './assemble/clock.js';
import { startExport, type RunningExport } from './export/connect.js';
import { heartbeatBuilder, startHeartbeats } from './export/heartbeat.js';
import { ensureTracefs } from './host/tracefs.js';
import { PAGEOUT_HELPER, compilerReleaser } from './host/pageout.js';
import { Counters } from './counters.js';
import { StageLatency } from './latency.js';

export const SENSOR_VERSION = '0.1.0';

export { DEFAULT_PROBES_DIR };

export interface SensorConfig {
  hostId?: string;
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
 * events (assemble/event-builder.ts) -> publish (export/). Each step below starts one part and
 * returns its stop; they stop in reverse order, so what the last flushes bring in goes out before
 * the publisher stops.
 */
export async function startSensor(cfg: SensorConfig): Promise<RunningSensor> {
  const log = cfg.log.child({ component: 'sensor' });
  const host = cfg.hostId ?? hostIdFrom(hostname());
  const counters = new Counters();
  const latency = new StageLatency();
  const clock = new KtimeClock();
  const hasher = new ExeHasher({ counters, onHashed: (h) => emit([builder.exeEvent(h)]) });
  const configs = new ConfigReader({ counters, onConfig: (pid, data) => emit([builder.configEvent(pid, data)]) });
  const cache = new ProcessCache({
    hasher,
    configs,
    ...(cfg.ancestryDepth !== undefined ? { maxAncestry: cfg.ancestryDepth } : {}),
  });
  const devices = GpuDeviceMap.fromHost(cfg.gpuDevices ?? []);
  const builder = new EventBuilder(host, cache, devices, clock, counters, BPFTRACE_STRLEN - 1);
  const supervisors = new Map<ProbeName, ProbeSupervisor>();
  const compiler = compilerReleaser(cfg.pageoutHelper ?? PAGEOUT_HELPER, log);
  let exporter: RunningExport | null = null;
  const emit = (events: EventV1[]) => {
    if (events.length > 0) exporter?.publisher.enqueue(events);
  };
  const router = new RecordRouter({ builder, clock, counters, latency, log, supervisors, emit });
  const heartbeat = heartbeatBuilder({
    host,
    sensorVersion: SENSOR_VERSION,
    clock,
    counters,
    latency,
    supervisors,
    publisher: () => exporter?.publisher ?? null,
    processCacheSize: () => cache.size,
    heldToTimeout: () => router.heldToTimeout,
    compilerRssReleasedBytes: compiler.releasedBytes,
  });

  // Set once heartbeats start: a stall or a restart goes out at once.
  let sendHeartbeat = () => {};
  const stop = await runSteps(
    [
      {
        name: 'tracefs',
        start: async () => {
          log.info({ 'tracefs.state': await ensureTracefs() }, 'tracefs ready');
        },
      },
      {
        name: 'process-cache',
        start: async () => {
          cache.seedFromProc(
            readdirSync('/proc')
              .filter((d) => /^\d+$/.test(d))
              .map(Number),
          );
          log.info({ 'cache.size': cache.size }, 'process cache seeded from /proc');
          const t = setInterval(() => {
            cache.sweep();
            emit(builder.flushExpired());
            clock.resync();
          }, 1000);
          return () => clearInterval(t);
        },
      },
      {
        name: 'nats',
        start: async () => {
          exporter = startExport({
            host,
            nats: cfg.nats,
            maxQueue: cfg.maxQueue ?? 200_000,
            spoolMaxBytes: cfg.spoolMaxBytes ?? 1024 ** 3,
            ...(cfg.spoolDir ? { spoolDir: cfg.spoolDir } : {}),
            counters,
            latency,
            log,
          });
          return exporter.stop;
        },
      },
      {
        name: 'probes',
        start: async () => {
          const stopProbes = await startProbes({
            dir: cfg.probesDir ?? DEFAULT_PROBES_DIR,
            wanted: cfg.probes ?? DEFAULT_PROBES,
            ctx: { windowSeconds: cfg.windowSeconds ?? 5, devices },
            bpftrace: cfg.bpftrace ?? 'bpftrace',
            separate: cfg.separateProbes ?? false,
            ...(cfg.probeStallSeconds !== undefined ? { stallAfterMs: cfg.probeStallSeconds * 1000 } : {}),
            ...(cfg.probeStallActSeconds !== undefined ? { stallActAfterMs: cfg.probeStallActSeconds * 1000 } : {}),
            ...(cfg.releaseCompilerPages === false ? {} : { onAttached: compiler.onAttached }),
            // After an exit, what the exec probe buffered is gone: what still runs from the gap is read from /proc.
            onBlindClosed: (names, blind) => {
              if (!names.includes('exec') || blind.cause !== 'exit') return;
              const probePids = new Set([...supervisors.values()].flatMap((s) => (s.pid ? [s.pid] : [])));
              const { events, over } = recoverBlindExecs(blind, { host, cache, probePids });
              log.warn(
                { 'probe.blindFromTs': blind.fromTs, 'probe.blindToTs': blind.toTs, recovered: events.length, over },
                'processes started while the exec probe was blind, recovered from /proc',
              );
              emit(events);
            },
            onStateChange: () => sendHeartbeat(),
            lineHandler: (label, names, sup) => router.lineHandler(label, names, sup),
            supervisors,
            log,
          });
          // The host's own tools are hashed once the probes run, behind any exec already queued.
          requestReferenceHashes(hasher).then(
            (n) => log.info({ 'reference.tools': n }, 'reference hashes of installed tools queued'),
            (err: unknown) => log.warn({ err }, 'reference tools not found'),
          );
          return async () => {
            await stopProbes();
            router.drain();
            await hasher.settled();
            await configs.settled();
          };
        },
      },
      {
        name: 'heartbeat',
        start: async () =>
          startHeartbeats({
            host,
            seconds: cfg.heartbeatSeconds ?? 5,
            nc: () => exporter?.nc() ?? null,
            beat: heartbeat,
            log,
            sendNow: (send) => {
              sendHeartbeat = send;
            },
          }),
      },
    ],
    log,
  );

  return { host, counters, latency, probes: supervisors, heartbeat, stop };
}
