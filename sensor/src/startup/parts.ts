import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { hostIdFrom, type EventV1, type HeartbeatV1 } from '@vigil/schema';
import { BPFTRACE_STRLEN, type ProbeName } from '../probes/registry.js';
import type { ProbeSupervisor } from '../probes/supervisor.js';
import { ProcessCache } from '../process/cache.js';
import { ExeHasher } from '../process/exe-identity.js';
import { ConfigReader } from '../process/config-files.js';
import { GpuDeviceMap } from '../gpu/devices.js';
import { EventBuilder } from '../assemble/event-builder.js';
import { RecordRouter } from '../assemble/router.js';
import { KtimeClock } from '../assemble/clock.js';
import type { RunningExport } from '../export/connect.js';
import { heartbeatBuilder } from '../export/heartbeat.js';
import { PAGEOUT_HELPER, compilerReleaser } from '../host/pageout.js';
import { Counters } from '../counters.js';
import { StageLatency } from '../latency.js';
import type { SensorConfig } from '../sensor.js';

export const SENSOR_VERSION = '0.1.0';

/**
 * The sensor's parts, made before any step starts: the data path from records to events (router,
 * builder, process cache with its hasher and config reader) and what reports on it (counters,
 * latency, heartbeat). The export is set by its step; events emitted before it are not published.
 */
export interface SensorParts {
  host: string;
  log: Logger;
  counters: Counters;
  latency: StageLatency;
  clock: KtimeClock;
  hasher: ExeHasher;
  configs: ConfigReader;
  cache: ProcessCache;
  devices: GpuDeviceMap;
  builder: EventBuilder;
  supervisors: Map<ProbeName, ProbeSupervisor>;
  compiler: ReturnType<typeof compilerReleaser>;
  router: RecordRouter;
  heartbeat: () => HeartbeatV1;
  exporter: RunningExport | null;
  emit: (events: EventV1[]) => void;
  /** Set once heartbeats start: a probe's stall or restart goes out at once. */
  sendHeartbeat: () => void;
}

export function makeParts(cfg: SensorConfig): SensorParts {
  const log = cfg.log.child({ component: 'sensor' });
  const counters = new Counters();
  const latency = new StageLatency();
  const clock = new KtimeClock();
  const p = { host: cfg.hostId ?? hostIdFrom(hostname()), log, counters, latency, clock } as SensorParts;
  p.exporter = null;
  p.sendHeartbeat = () => {};
  p.emit = (events) => {
    if (events.length > 0) p.exporter?.publisher.enqueue(events);
  };
  p.hasher = new ExeHasher({ counters, onHashed: (h) => p.emit([p.builder.exeEvent(h)]) });
  p.configs = new ConfigReader({ counters, onConfig: (pid, data) => p.emit([p.builder.configEvent(pid, data)]) });
  p.cache = new ProcessCache({
    hasher: p.hasher,
    configs: p.configs,
    ...(cfg.ancestryDepth !== undefined ? { maxAncestry: cfg.ancestryDepth } : {}),
  });
  p.devices = GpuDeviceMap.fromHost(cfg.gpuDevices ?? []);
  p.builder = new EventBuilder(p.host, p.cache, p.devices, clock, counters, BPFTRACE_STRLEN - 1);
  p.supervisors = new Map();
  p.compiler = compilerReleaser(cfg.pageoutHelper ?? PAGEOUT_HELPER, log);
  p.router = new RecordRouter({
    builder: p.builder,
    clock,
    counters,
    latency,
    log,
    supervisors: p.supervisors,
    emit: p.emit,
  });
  p.heartbeat = heartbeatBuilder({
    host: p.host,
    sensorVersion: cfg.version ?? SENSOR_VERSION,
    clock,
    counters,
    latency,
    supervisors: p.supervisors,
    publisher: () => p.exporter?.publisher ?? null,
    processCacheSize: () => p.cache.size,
    heldToTimeout: () => p.router.heldToTimeout,
    compilerRssReleasedBytes: p.compiler.releasedBytes,
  });
  return p;
}
