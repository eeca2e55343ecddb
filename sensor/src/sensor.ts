import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { connect, type ConnectionOptions, type NatsConnection } from 'nats';
import type { Logger } from 'pino';
import { closeNats, HeartbeatV1, heartbeatSubject, hostIdFrom, runSteps, type EventV1 } from '@vigil/schema';
import { parseBpftraceLine, BpftraceLineError, type BpftraceLine } from './decode/bpftrace-output.js';
import { composeProbes } from './probes/compose.js';
import { makeScriptDir } from './probes/script-dir.js';
import { PROBES, PROBE_NAMES, BPFTRACE_STRLEN, HOLD_MS, type ProbeName, type ProbeSpec } from './probes/registry.js';
import type { DecodedRecord } from './assemble/event-builder.js';
import { ProbeSupervisor } from './probes/supervisor.js';
import { ProcessCache } from './process/cache.js';
import { GpuDeviceMap, type ExtraGpuDevice } from './gpu/devices.js';
import { EventBuilder, windowRecord } from './assemble/event-builder.js';
import { WindowCollector } from './assemble/window.js';
import { BatchCollector, BatchMerger } from './assemble/batch.js';
import { KtimeClock } from './assemble/clock.js';
import { EventPublisher } from './export/publisher.js';
import { DiskSpool } from './export/spool.js';
import { ensureTracefs } from './host/tracefs.js';
import { readCpuSeconds, readRssBytes } from './host/procfs.js';
import { PAGEOUT_HELPER, releaseCompilerPages } from './host/pageout.js';
import { Counters } from './counters.js';
import { StageLatency } from './latency.js';
import { isReadyRecord, isWakeRecord } from './decode/records.js';

export const SENSOR_VERSION = '0.1.0';

/**
 * Each probe's latency stages (see HeartbeatV1's `latency`), named once so that observing a record
 * builds no string. `tick` is a batching probe's flip (the time its end-of-flush record carries) to
 * the sensor reading that record.
 */
const STAGES = Object.fromEntries(PROBE_NAMES.map((n) => [n, { read: `${n}.read`, tick: `${n}.tick`, built: `${n}.built` }])) as Record<ProbeName, { read: string; tick: string; built: string }>;
/**
 * The records whose latency is observed, by type, with their probe: one per exec, fork, exit, first
 * connect or first GPU call; a failed exec counts by its return record. Window and end-of-flush
 * records are not observed.
 */
const OBSERVED = new Map<DecodedRecord['type'], ProbeName>([
  ['exec.done', 'exec'], ['exec.return', 'exec'], ['proc.fork', 'proc'], ['proc.exit', 'proc'],
  ['connect.first', 'connect'], ['gpu.first', 'gpu'], ['dns.message', 'dns'],
]);

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

export async function startSensor(cfg: SensorConfig): Promise<RunningSensor> {
  const log = cfg.log.child({ component: 'sensor' });
  const host = cfg.hostId ?? hostIdFrom(hostname());
  const counters = new Counters();
  const latency = new StageLatency();
  const clock = new KtimeClock();
  const cache = new ProcessCache(cfg.ancestryDepth !== undefined ? { maxAncestry: cfg.ancestryDepth } : {});
  const devices = GpuDeviceMap.fromHost(cfg.gpuDevices ?? []);
  const builder = new EventBuilder(host, cache, devices, clock, counters, BPFTRACE_STRLEN - 1);
  const supervisors = new Map<ProbeName, ProbeSupervisor>();
  const startedTs = clock.nowWall();
  // Numbers this run's heartbeats (HeartbeatV1.seq): a re-published copy of one is not newer.
  let heartbeatSeq = 0;
  const windowSeconds = cfg.windowSeconds ?? 5;
  let nc: NatsConnection | null = null;
  let publisher: EventPublisher | null = null;
  let compilerRssReleasedBytes = 0;

  const emit = (events: EventV1[]) => {
    if (events.length > 0) publisher?.enqueue(events);
  };

  /** The running bpftrace processes, each once: probes composed into one process share its pid. */
  const probePids = (): number[] => [...new Set([...supervisors.values()].map((s) => s.pid))].filter((pid): pid is number => pid !== undefined);
  const sumOverProbes = (read: (pid: number) => number | null | undefined) => probePids().reduce((sum, pid) => sum + (read(pid) ?? 0), 0);

  const cpuSeconds = () => {
    const { user, system } = process.cpuUsage();
    // Exited bpftraces (restarts) count through the sensor's reaped children; running ones by pid.
    const running = sumOverProbes((pid) => readCpuSeconds(pid)?.self);
    return { processCpuSeconds: (user + system) / 1e6, probeCpuSeconds: running + (readCpuSeconds('self')?.reapedChildren ?? 0) };
  };

  const heartbeat = (): HeartbeatV1 => ({
    v: 1,
    host,
    ts: clock.nowWall(),
    sensorVersion: SENSOR_VERSION,
    startedTs,
    sensorPid: process.pid,
    seq: heartbeatSeq++,
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
      heldToTimeout: merger.heldToTimeout,
    },
    footprint: {
      processRssBytes: process.memoryUsage.rss(),
      probeRssBytes: sumOverProbes(readRssBytes),
      compilerRssReleasedBytes,
      ...cpuSeconds(),
    },
    // Probes sharing one bpftrace process share its state (and pid).
    probes: [...supervisors.entries()].map(([name, s]) => ({ ...s.state, name, ...(s.pid ? { pid: s.pid } : {}) })),
    latency: latency.snapshot(),
  });

  const spec = (name: ProbeName): ProbeSpec => PROBES[name];
  const owners = new Map<number, ProbeName>();
  for (const name of PROBE_NAMES) for (const t of spec(name).recordTypes) owners.set(t, name);
  const windows = new Map<ProbeName, WindowCollector>();
  for (const name of PROBE_NAMES) { const w = spec(name).window; if (w) windows.set(name, new WindowCollector(w)); }
  const batches = new Map<ProbeName, BatchCollector>();
  for (const name of PROBE_NAMES) if (spec(name).batch) batches.set(name, new BatchCollector());
  // Records of the probes that buffer in maps, back in kernel-time order across probes.
  // A probe prints what was written within a flush and a tick; an idle one prints its end-of-flush
  // record once a second, or within two ticks when another probe has printed something since (the
  // composed script's *_mark_wanted flags, see exec.bt). A record waits for the watermark or HOLD_MS,
  // whichever comes first; with --separate-probes nobody asks, and the hold is what lets it go.
  const merger = new BatchMerger<DecodedRecord>(
    () => [...batches.keys()].filter((n) => supervisors.get(n)?.state.state === 'running'),
    HOLD_MS,
  );
  let holdTimer: NodeJS.Timeout | null = null;
  const armHold = () => {
    if (holdTimer || merger.size === 0) return;
    holdTimer = setTimeout(() => {
      holdTimer = null;
      build(merger.release());
      armHold();
    }, HOLD_MS);
    holdTimer.unref();
  };
  const mapOwner = (mapName: string): ProbeName | undefined =>
    PROBE_NAMES.find((n) => {
      const p = spec(n);
      const prefix = p.window ?? p.batch?.prefix;
      return prefix !== undefined && mapName.startsWith(`@${prefix}_`);
    });
  const build = (records: DecodedRecord[]) => {
    if (records.length > 0) {
      emit(builder.onRecords(records));
      const now = clock.nowKtime();
      for (const r of records) {
        const probe = OBSERVED.get(r.type);
        if (probe) latency.observe(STAGES[probe].built, (now - r.ns) / 1e6);
      }
    }
    armHold();
  };
  /** How long after the kernel wrote them records of `name` are read (windows left out: late by design). */
  const observeRead = (name: ProbeName, records: readonly DecodedRecord[]) => {
    const now = clock.nowKtime();
    for (const r of records) if (OBSERVED.has(r.type)) latency.observe(STAGES[name].read, (now - r.ns) / 1e6);
  };

  /** The end of one flush of a probe that buffers in maps: its records, merged with the others'. */
  const endFlush = (name: ProbeName, ns: number, sup: ProbeSupervisor) => {
    const batch = spec(name).batch!;
    const c = batches.get(name)!;
    const res = batch.decode(c.end(), c.before);
    if (res.rejects > 0) counters.reject(`${name}.schema`, res.rejects);
    observeRead(name, res.records);
    if (res.lost > 0) {
      counters.lostEvents += res.lost;
      sup.state.lostEvents += res.lost;
      log.warn({ 'probe.name': name, 'probe.lost': res.lost }, 'probe entries lost (a full map, or a writer stalled past its print)');
    }
    build(merger.add(name, res.records, ns));
  };

  /** One value or map record of probe `name`, already parsed. */
  const handleRecord = (name: ProbeName, out: BpftraceLine, sup: ProbeSupervisor) => {
    const probe = spec(name);
    try {
      if (out.type === 'value') {
        const d = probe.decode(out.data as unknown[]);
        if (!d.success) { counters.reject(`${name}.schema`); return; }
        if (d.data.type === 'exec.flush' || d.data.type === 'proc.flush') {
          latency.observe(STAGES[name].tick, (clock.nowKtime() - d.data.ns) / 1e6);
          sup.markFlushed(clock.toWall(d.data.ns));
          endFlush(name, d.data.ns, sup);
        } else {
          observeRead(name, [d.data]);
          build(merger.hold([d.data]));
        }
      } else if (probe.batch) {
        const c = batches.get(name)!;
        for (const [mapName, data] of Object.entries(out.data as Record<string, unknown>)) {
          if (data && typeof data === 'object') c.push(mapName, data as Record<string, unknown>);
          else counters.reject(`${name}.unexpected-map`);
        }
      } else {
        const w = windows.get(name);
        if (!w) { counters.reject(`${name}.unexpected-map`); return; }
        for (const [mapName, data] of Object.entries(out.data as Record<string, Record<string, number>>)) {
          const entries = w.push(mapName, data);
          const r = entries && windowRecord(probe.window === 'conn' ? 'connect.window' : 'gpu.window', entries);
          if (r) build(merger.hold([r]));
        }
      }
    } catch (err) {
      // A record the builder cannot place must not take the sensor down.
      counters.reject(`${name}.build`);
      log.error({ 'probe.name': name, err }, 'event build failed');
    }
  };

  /**
   * The stdout handler of one bpftrace process running `names` (one probe, or several composed):
   * value records go to the probe owning their record type, maps to the probe owning their prefix.
   */
  const lineHandler = (label: string, names: ProbeName[], sup: () => ProbeSupervisor) => (line: string) => {
    counters.recordsRead++;
    let out: BpftraceLine;
    try {
      out = parseBpftraceLine(line);
    } catch (err) {
      counters.reject(`${label}.${err instanceof BpftraceLineError ? err.reason : 'line'}`);
      return;
    }
    if (out.type === 'value') {
      if (isReadyRecord(out.data)) { sup().markAttached(); return; }
      if (isWakeRecord(out.data)) return;
      const owner = owners.get((out.data as unknown[])[0] as number);
      if (!owner || !names.includes(owner)) { counters.reject(`${label}.unknown-record`); return; }
      handleRecord(owner, out, sup());
    } else if (out.type === 'map') {
      const first = Object.keys(out.data as object)[0] ?? '';
      const owner = mapOwner(first);
      if (!owner || !names.includes(owner)) { counters.reject(`${label}.unexpected-map`); return; }
      handleRecord(owner, out, sup());
    } else if (out.type === 'lost_events') {
      const n = (out.data as { events: number }).events;
      counters.lostEvents += n;
      sup().state.lostEvents += n;
      log.warn({ 'probe.name': label, 'probe.lost': n }, 'bpftrace lost events');
    } else if (out.type !== 'attached_probes') {
      counters.reject(`${label}.unknown-type`);
    }
  };

  const releaseCompiler = (pid: number) => {
    releaseCompilerPages(pid, cfg.pageoutHelper ?? PAGEOUT_HELPER).then((r) => {
      const freed = Math.max(0, (r.rssBeforeBytes ?? 0) - (r.rssAfterBytes ?? 0));
      compilerRssReleasedBytes += freed;
      log.info({ 'probe.pid': pid, 'pageout.ranges': r.ranges, 'pageout.rssBeforeBytes': r.rssBeforeBytes, 'pageout.rssAfterBytes': r.rssAfterBytes }, 'bpftrace compiler pages released');
    }, (err: Error) => {
      log.warn({ 'probe.pid': pid, err }, 'bpftrace compiler pages kept resident');
    });
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
        publisher = new EventPublisher(null, { maxQueue: cfg.maxQueue ?? 200_000, log, counters, latency, ...(spool ? { spool } : {}) });
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
        const dir = cfg.probesDir ?? DEFAULT_PROBES_DIR;
        const wanted = cfg.probes ?? PROBE_NAMES;
        const supervisor = (label: string, names: ProbeName[], scriptPath: string, args: string[], env: Record<string, string>) => {
          const sup: ProbeSupervisor = new ProbeSupervisor({
            name: label, bpftrace: cfg.bpftrace ?? 'bpftrace', scriptPath, args, env, log,
            onLine: lineHandler(label, names, () => sup),
            flushes: names.some((n) => spec(n).batch !== undefined),
            ...(cfg.probeStallSeconds !== undefined ? { stallAfterMs: cfg.probeStallSeconds * 1000 } : {}),
            ...(cfg.probeStallActSeconds !== undefined ? { stallActAfterMs: cfg.probeStallActSeconds * 1000 } : {}),
            ...(cfg.releaseCompilerPages === false ? {} : { onAttached: releaseCompiler }),
          });
          return sup;
        };
        const runnable: ProbeName[] = [];
        for (const name of wanted) {
          const skip = spec(name).skipReason?.(ctx) ?? null;
          if (!skip) { runnable.push(name); continue; }
          const sup = supervisor(name, [name], '', [], {});
          sup.state.state = 'skipped';
          sup.state.lastError = skip;
          supervisors.set(name, sup);
          log.info({ 'probe.name': name, 'probe.reason': skip }, 'probe skipped');
        }
        const separately = async (names: ProbeName[]) => {
          const sups = names.map((name) => {
            const p = spec(name);
            const sup = supervisor(name, [name], join(dir, p.script), p.args(ctx), p.env);
            supervisors.set(name, sup);
            return sup;
          });
          // Probes compile in parallel; each resolves once attached or after its first exit.
          await Promise.all(sups.map((s) => s.start()));
        };
        let tmp: string | null = null;
        if (cfg.separateProbes || runnable.length < 2) {
          await separately(runnable);
        } else {
          // One bpftrace for all: a quarter of the memory and one poller (see probes/compose.ts).
          tmp = makeScriptDir(tmpdir());
          const script = join(tmp, 'composed.bt');
          writeFileSync(script, composeProbes(runnable.map((name) => ({ name, text: readFileSync(join(dir, spec(name).script), 'utf8'), args: spec(name).args(ctx) }))), { mode: 0o600 });
          const env = Object.assign({}, ...runnable.map((n) => spec(n).env)) as Record<string, string>;
          const sup = supervisor(runnable.join('+'), runnable, script, [], env);
          for (const name of runnable) supervisors.set(name, sup);
          await sup.start();
          if (sup.state.state !== 'running') {
            // One probe that does not load (a kernel without a tracepoint, a struct that moved) must not
            // blind the others: run each alone, so only the broken one stays down.
            log.warn({ 'probe.names': runnable, 'probe.error': sup.state.lastError }, 'composed probes did not start; running each probe in its own bpftrace');
            await sup.stop();
            await separately(runnable);
          }
        }
        return async () => {
          await Promise.all([...new Set(supervisors.values())].map((s) => s.stop()));
          // What the last flushes brought in goes out before the publisher stops.
          if (holdTimer) clearTimeout(holdTimer);
          holdTimer = null;
          emit(builder.onRecords(merger.release(true)));
          if (tmp) rmSync(tmp, { recursive: true, force: true });
        };
      },
    },
    {
      name: 'heartbeat',
      start: async () => {
        const send = (stopping = false) => {
          try {
            nc?.publish(heartbeatSubject(host), JSON.stringify(stopping ? { ...heartbeat(), stopping: true } : heartbeat()));
          } catch (err) {
            log.warn({ err }, 'heartbeat not sent');
          }
        };
        send();
        const t = setInterval(send, (cfg.heartbeatSeconds ?? 5) * 1000);
        return () => { clearInterval(t); send(true); };
      },
    },
  ], log);

  return { host, counters, latency, probes: supervisors, heartbeat, stop };
}
