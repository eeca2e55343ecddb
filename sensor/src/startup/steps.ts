import { readdirSync } from 'node:fs';
import type { Step } from '@vigil/schema';
import { DEFAULT_PROBES_DIR, DEFAULT_PROBES } from '../probes/registry.js';
import { startProbes } from '../probes/compose-or-separate.js';
import { requestReferenceHashes } from '../process/reference-tools.js';
import { recoverBlindExecs } from '../process/blind-recovery.js';
import type { BlindIntervalV1 } from '@vigil/schema';
import { startExport } from '../export/connect.js';
import { startHeartbeats } from '../export/heartbeat.js';
import { ensureTracefs } from '../host/tracefs.js';
import type { SensorConfig } from '../sensor.js';
import type { SensorParts } from './parts.js';

/** The sensor's startup steps, in order (sensor.ts runs them); each returns its stop. */

export const tracefsStep = (p: SensorParts): Step => ({
  name: 'tracefs',
  start: async () => {
    p.log.info({ 'tracefs.state': await ensureTracefs() }, 'tracefs ready');
  },
});

/** Seeds the process table from /proc; every second ages it, flushes held records and resyncs the clock. */
export const processCacheStep = (p: SensorParts): Step => ({
  name: 'process-cache',
  start: async () => {
    p.cache.seedFromProc(
      readdirSync('/proc')
        .filter((d) => /^\d+$/.test(d))
        .map(Number),
    );
    p.log.info({ 'cache.size': p.cache.size }, 'process cache seeded from /proc');
    const t = setInterval(() => {
      p.cache.sweep();
      p.emit(p.builder.flushExpired());
      p.clock.resync();
    }, 1000);
    return () => clearInterval(t);
  },
});

export const natsStep = (cfg: SensorConfig, p: SensorParts): Step => ({
  name: 'nats',
  start: async () => {
    const exporter = startExport({
      host: p.host,
      nats: cfg.nats,
      maxQueue: cfg.maxQueue ?? 200_000,
      spoolMaxBytes: cfg.spoolMaxBytes ?? 1024 ** 3,
      ...(cfg.spoolDir ? { spoolDir: cfg.spoolDir } : {}),
      counters: p.counters,
      latency: p.latency,
      log: p.log,
    });
    p.exporter = exporter;
    return exporter.stop;
  },
});

/** After an exit, what the exec probe buffered is gone: what still runs from the gap is read from /proc. */
function recoverAfterExit(p: SensorParts, names: readonly string[], blind: BlindIntervalV1): void {
  if (!names.includes('exec') || blind.cause !== 'exit') return;
  const probePids = new Set([...p.supervisors.values()].flatMap((s) => (s.pid ? [s.pid] : [])));
  const { events, over } = recoverBlindExecs(blind, { host: p.host, cache: p.cache, probePids });
  p.log.warn(
    { 'probe.blindFromTs': blind.fromTs, 'probe.blindToTs': blind.toTs, recovered: events.length, over },
    'processes started while the exec probe was blind, recovered from /proc',
  );
  p.emit(events);
}

/**
 * Starts the probes (composed into one bpftrace, or apart) with their lines routed to the data path,
 * then queues the reference hashes of the host's own tools behind any exec already waiting. Its stop
 * drains what the last flushes brought in before the publisher stops.
 */
export const probesStep = (cfg: SensorConfig, p: SensorParts): Step => ({
  name: 'probes',
  start: async () => {
    const stopProbes = await startProbes({
      dir: cfg.probesDir ?? DEFAULT_PROBES_DIR,
      wanted: cfg.probes ?? DEFAULT_PROBES,
      ctx: { windowSeconds: cfg.windowSeconds ?? 5, devices: p.devices },
      bpftrace: cfg.bpftrace ?? 'bpftrace',
      separate: cfg.separateProbes ?? false,
      ...(cfg.probeStallSeconds !== undefined ? { stallAfterMs: cfg.probeStallSeconds * 1000 } : {}),
      ...(cfg.probeStallActSeconds !== undefined ? { stallActAfterMs: cfg.probeStallActSeconds * 1000 } : {}),
      ...(cfg.releaseCompilerPages === false ? {} : { onAttached: p.compiler.onAttached }),
      onBlindClosed: (names, blind) => recoverAfterExit(p, names, blind),
      onStateChange: () => p.sendHeartbeat(),
      lineHandler: (label, names, sup) => p.router.lineHandler(label, names, sup),
      supervisors: p.supervisors,
      log: p.log,
    });
    requestReferenceHashes(p.hasher).then(
      (n) => p.log.info({ 'reference.tools': n }, 'reference hashes of installed tools queued'),
      (err: unknown) => p.log.warn({ err }, 'reference tools not found'),
    );
    return async () => {
      await stopProbes();
      p.router.drain();
      await p.hasher.settled();
      await p.configs.settled();
    };
  },
});

export const heartbeatStep = (cfg: SensorConfig, p: SensorParts): Step => ({
  name: 'heartbeat',
  start: async () =>
    startHeartbeats({
      host: p.host,
      seconds: cfg.heartbeatSeconds ?? 5,
      nc: () => p.exporter?.nc() ?? null,
      beat: p.heartbeat,
      log: p.log,
      sendNow: (send) => {
        p.sendHeartbeat = send;
      },
    }),
});
