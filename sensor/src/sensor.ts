import { readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { connect, type ConnectionOptions, type NatsConnection } from 'nats';
import type { Logger } from 'pino';
import { closeNats, HeartbeatV1, heartbeatSubject, hostIdFrom, runSteps, type EventV1 } from '@vigil/schema';
import { parseBpftraceLine, BpftraceLineError } from './decode/bpftrace-output.js';
import { PROBES, PROBE_NAMES, BPFTRACE_STRLEN, type ProbeName, type ProbeSpec } from './probes/registry.js';
import { ProbeSupervisor } from './probes/supervisor.js';
import { ProcessCache } from './process/cache.js';
import { GpuDeviceMap, type ExtraGpuDevice } from './gpu/devices.js';
import { EventBuilder } from './assemble/event-builder.js';
import { WindowCollector } from './assemble/window.js';
import { KtimeClock } from './assemble/clock.js';
import { EventPublisher } from './export/publisher.js';
import { DiskSpool } from './export/spool.js';
import { ensureTracefs } from './host/tracefs.js';
import { Counters } from './counters.js';
import { isReadyRecord } from './decode/records.js';

export const SENSOR_VERSION = '0.1.0';

/** The repository's probes/ folder, found from this module (sensor/dist/sensor.js). */
export const DEFAULT_PROBES_DIR = fileURLToPath(new URL('../../probes/', import.meta.url));

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
  maxQueue?: number;
  /** Where events wait on disk while NATS is away (none: memory only). */
  spoolDir?: string;
  spoolMaxBytes?: number;
  log: Logger;
}

export interface RunningSensor {
  host: string;
  counters: Counters;
  probes: Map<ProbeName, ProbeSupervisor>;
  heartbeat: () => HeartbeatV1;
  stop: () => Promise<void>;
}

export async function startSensor(cfg: SensorConfig): Promise<RunningSensor> {
  const log = cfg.log.child({ component: 'sensor' });
  const host = cfg.hostId ?? hostIdFrom(hostname());
  const counters = new Counters();
  const clock = new KtimeClock();
  const cache = new ProcessCache();
  const devices = GpuDeviceMap.fromHost(cfg.gpuDevices ?? []);
  const builder = new EventBuilder(host, cache, devices, clock, counters, BPFTRACE_STRLEN - 1);
  const supervisors = new Map<ProbeName, ProbeSupervisor>();
  const startedTs = clock.nowWall();
  const windowSeconds = cfg.windowSeconds ?? 5;
  let nc: NatsConnection | null = null;
  let publisher: EventPublisher | null = null;

  const emit = (events: EventV1[]) => {
    if (events.length > 0) publisher?.enqueue(events);
  };

  const heartbeat = (): HeartbeatV1 => ({
    v: 1,
    host,
    ts: clock.nowWall(),
    sensorVersion: SENSOR_VERSION,
    startedTs,
    sensorPid: process.pid,
    counters: {
      recordsRead: counters.recordsRead,
      eventsPublished: counters.eventsPublished,
      eventsDropped: counters.eventsDropped,
      lostEvents: counters.lostEvents,
      rejects: counters.rejectsObject(),
      queueDepth: publisher?.depth ?? 0,
      spoolBytes: publisher?.spooled.bytes ?? 0,
      spoolEvents: publisher?.spooled.events ?? 0,
      processCacheSize: cache.size,
    },
    probes: [...supervisors.values()].map((s) => ({ ...s.state, ...(s.pid ? { pid: s.pid } : {}) })),
  });

  const handleLine = (name: ProbeName, spec: ProbeSpec, sup: ProbeSupervisor, windows: WindowCollector | null) => (line: string) => {
    counters.recordsRead++;
    let out;
    try {
      out = parseBpftraceLine(line);
    } catch (err) {
      counters.reject(`${name}.${err instanceof BpftraceLineError ? err.reason : 'line'}`);
      return;
    }
    try {
      if (out.type === 'value') {
        if (isReadyRecord(out.data)) { sup.markAttached(); return; }
        const d = spec.decode(out.data as unknown[]);
        if (!d.success) { counters.reject(`${name}.schema`); return; }
        emit(builder.onRecord(d.data));
      } else if (out.type === 'map') {
        if (!windows) { counters.reject(`${name}.unexpected-map`); return; }
        for (const [mapName, data] of Object.entries(out.data as Record<string, Record<string, number>>)) {
          const entries = windows.push(mapName, data);
          if (entries) emit(spec.window === 'conn' ? builder.connectWindow(entries) : builder.gpuWindow(entries));
        }
      } else if (out.type === 'lost_events') {
        const n = (out.data as { events: number }).events;
        counters.lostEvents += n;
        sup.state.lostEvents += n;
        log.warn({ 'probe.name': name, 'probe.lost': n }, 'bpftrace lost events');
      } else if (out.type !== 'attached_probes') {
        counters.reject(`${name}.unknown-type`);
      }
    } catch (err) {
      // A record the builder cannot place must not take the sensor down.
      counters.reject(`${name}.build`);
      log.error({ 'probe.name': name, err }, 'event build failed');
    }
  };

  const stop = await runSteps([
    {
      name: 'tracefs',
      start: async () => { log.info({ 'tracefs.state': await ensureTracefs() }, 'tracefs ready'); },
    },
    {
      name: 'process-cache',
      start: async () => {
        const pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
        cache.seedFromProc(pids);
        log.info({ 'cache.size': cache.size }, 'process cache seeded from /proc');
        const t = setInterval(() => { cache.sweep(); emit(builder.flushExpired()); clock.resync(); }, 1000);
        return () => clearInterval(t);
      },
    },
    {
      name: 'nats',
      start: async () => {
        const spool = cfg.spoolDir ? new DiskSpool({ dir: cfg.spoolDir, maxBytes: cfg.spoolMaxBytes ?? 1024 ** 3 }) : undefined;
        if (spool && !spool.empty) log.info({ 'spool.events': spool.events, 'spool.bytes': spool.bytes }, 'replaying events spooled by an earlier run');
        publisher = new EventPublisher(null, { maxQueue: cfg.maxQueue ?? 200_000, log, counters, ...(spool ? { spool } : {}) });
        publisher.start();
        // Tracing must not wait for NATS: events queue (and spool) until it answers.
        let stopped = false;
        let attempts = 0;
        const connected = (async () => {
          while (!stopped) {
            try {
              nc = await connect({ name: `vigil-sensor-${host}`, maxReconnectAttempts: -1, reconnectTimeWait: 500, ...cfg.nats });
              publisher?.attach(nc.jetstream());
              log.info({ 'nats.attempts': attempts + 1 }, 'connected to NATS');
              return;
            } catch (err) {
              if (attempts++ % 30 === 0) log.warn({ err, 'nats.attempts': attempts }, 'NATS unreachable; events are queued and spooled meanwhile');
              await new Promise((r) => setTimeout(r, 1000));
            }
          }
        })();
        return async () => {
          stopped = true;
          await publisher?.stop();
          await Promise.race([connected, new Promise((r) => setTimeout(r, 1000))]);
          if (nc) await closeNats(nc);
        };
      },
    },
    {
      name: 'probes',
      start: async () => {
        const ctx = { windowSeconds, devices };
        for (const name of cfg.probes ?? PROBE_NAMES) {
          const spec: ProbeSpec = PROBES[name];
          const sup: ProbeSupervisor = new ProbeSupervisor({
            name,
            bpftrace: cfg.bpftrace ?? 'bpftrace',
            scriptPath: join(cfg.probesDir ?? DEFAULT_PROBES_DIR, spec.script),
            args: spec.args(ctx),
            env: spec.env,
            log,
            onLine: (line) => handler(line),
          });
          const handler = handleLine(name, spec, sup, spec.window ? new WindowCollector(spec.window) : null);
          supervisors.set(name, sup);
          const skip = spec.skipReason?.(ctx) ?? null;
          if (skip) {
            sup.state.state = 'skipped';
            sup.state.lastError = skip;
            log.info({ 'probe.name': name, 'probe.reason': skip }, 'probe skipped');
          }
        }
        // Probes compile in parallel; each resolves once attached or after its first exit.
        await Promise.all([...supervisors.values()].filter((s) => s.state.state !== 'skipped').map((s) => s.start()));
        return async () => { await Promise.all([...supervisors.values()].map((s) => s.stop())); };
      },
    },
    {
      name: 'heartbeat',
      start: async () => {
        const send = () => {
          try {
            nc?.publish(heartbeatSubject(host), JSON.stringify(heartbeat()));
          } catch (err) {
            log.warn({ err }, 'heartbeat not sent');
          }
        };
        send();
        const t = setInterval(send, (cfg.heartbeatSeconds ?? 5) * 1000);
        return () => { clearInterval(t); send(); };
      },
    },
  ], log);

  return { host, counters, probes: supervisors, heartbeat, stop };
}
