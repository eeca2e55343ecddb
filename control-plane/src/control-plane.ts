import { EventEmitter } from 'node:events';
import { connect, type ConnectionOptions, type NatsConnection } from 'nats';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import {
  closeNats,
  DEFAULT_SILENT_AFTER_SECONDS,
  runSteps,
  type DetectionsReport,
  type EventV1,
  type StatusReport,
} from '@vigil/schema';
import { backoffMs, OutageLog, pause } from './store/outage.js';
import { createStorageClients, describeTarget, type StorageClients, type StorageTarget } from './store/client.js';
import { migrate } from './store/migrations.js';
import { DEFAULT_STREAM_LIMITS, ensureStreams, sizeEventStream, type StreamLimits } from './ingest/streams.js';
import { EventIngestor } from './ingest/consumer.js';
import { HeartbeatTracker } from './ingest/heartbeats.js';
import { HeartbeatStore } from './ingest/heartbeat-store.js';
import { checkApiBinding, startApi } from './api/server.js';
import { AlertSink } from './alerts/sink.js';
import { DetectionEngine, type LoadedDetection } from './detect/engine.js';
import { BUILTIN_DETECTIONS, SENSOR_HEALTH_DETECTIONS } from './detect/builtin/index.js';
import type { ExpectedGpuConfig } from './detect/define.js';
import { CustomDetections } from './detect/custom/manager.js';
import { USER_QUERY_LIMITS, type QueryLimits } from './store/readonly-query.js';
import { ControlPlaneMetrics } from './api/metrics.js';
import { AlertFollowers, EVENT_TOPIC, LiveFollowers } from './api/alert-stream.js';
import { sharesThisProcess } from './api/shared-process.js';

export const CONTROL_PLANE_VERSION = '0.1.0';

export interface ControlPlaneConfig {
  storage: StorageTarget;
  nats: ConnectionOptions;
  /** The HTTP API: see ApiOptions (a token is optional here, on loopback only; the CLI always sets one). */
  api: { host: string; port: number; token?: string; allowedHosts?: string[] };
  /** A sensor whose last heartbeat is older than this is reported silent. */
  silentAfterSeconds?: number;
  /** Hosts whose heartbeats are tracked at most (DEFAULT_MAX_HOSTS); more are refused and counted. */
  maxHosts?: number;
  /** Events per insert at most (IngestOptions.batchSize). */
  batchSize?: number;
  /** The longest an event waits for company before it is stored (see IngestOptions.storeLingerMs). */
  storeLingerMs?: number;
  /** The longest a quiet spell's first message waits for those sent with it (IngestOptions.lingerMs). */
  detectLingerMs?: number;
  /** Processes expected to use GPUs, beyond installed software (see detect/builtin/gpu.ts). */
  expectedGpu?: ExpectedGpuConfig;
  /** Folders (or files) of custom detections: TypeScript/JavaScript modules, Sigma YAML, SQL. */
  detections?: string[];
  /** Repeats of (rule, host, process) inside this window update one alert. */
  alertThrottleSeconds?: number;
  streamMaxAgeHours?: number;
  /**
   * The events stream's size; without it, a quarter of the free space of the embedded data directory,
   * 64 MiB to 8 GiB (sizeEventStream). Given, it resizes an existing stream too.
   */
  streamMaxBytes?: number;
  /** Bounds on user SQL (`vigil query`, SQL detections) beyond the defaults (USER_QUERY_LIMITS). */
  queryLimits?: Partial<QueryLimits>;
  /** The processes run beside it (`vigil up`: nats-server and its JetStream, the sensor), for the status. */
  supervised?: () => object;
  log: Logger;
  /**
   * Told to stop while starting: startControlPlane stops what it started and throws
   * StepsAbortedError (from @vigil/schema) instead of waiting on parts that do not answer.
   */
  signal?: AbortSignal;
}

export interface RunningControlPlane {
  apiUrl: string;
  ingestor: EventIngestor;
  engine: DetectionEngine;
  custom: CustomDetections | null;
  stop: () => Promise<void>;
}

export async function startControlPlane(cfg: ControlPlaneConfig): Promise<RunningControlPlane> {
  const log = cfg.log.child({ component: 'control-plane' });
  let ch: StorageClients | null = null;
  let nc: NatsConnection | null = null;
  let ingestor: EventIngestor | null = null;
  let heartbeats: HeartbeatTracker | null = null;
  let api: FastifyInstance | null = null;
  let alerts: AlertSink | null = null;
  let followers: AlertFollowers | null = null;
  // Events as they are validated, for `vigil events --follow`: emitted only while someone follows.
  const liveEvents = new EventEmitter().setMaxListeners(0);
  const eventFollowers = new LiveFollowers<EventV1>(liveEvents, EVENT_TOPIC);
  let engine: DetectionEngine | null = null;
  let custom: CustomDetections | null = null;
  const HEARTBEAT_DETECTIONS: LoadedDetection[] = Object.values(SENSOR_HEALTH_DETECTIONS).map((detection) => ({
    detection,
    source: 'builtin',
    author: null,
    origin: 'heartbeat',
  }));
  const builtins: LoadedDetection[] = Object.values(BUILTIN_DETECTIONS).map((detection) => ({
    detection,
    source: 'builtin',
    author: null,
    origin: 'builtin',
  }));
  const detectionsReport = () =>
    ({
      // The heartbeat-driven built-ins are raised from the sensors' heartbeats, not matched on events.
      loaded: (engine ? [...engine.list(), ...HEARTBEAT_DETECTIONS] : []).map((d) => ({
        id: d.detection.id,
        title: d.detection.title,
        severity: d.detection.severity,
        ...(d.detection.ranks ? { ranks: d.detection.ranks } : {}),
        source: d.source,
        origin: d.origin,
        author: d.author,
        fired: engine?.fired.get(d.detection.id) ?? 0,
        errors: engine?.errors.get(d.detection.id) ?? 0,
      })),
      sql:
        custom?.report.sql.map((d) => ({
          id: d.id,
          title: d.title,
          severity: d.severity,
          origin: d.origin,
          intervalMs: d.intervalMs,
          lastError: custom?.sqlErrors.get(d.id) ?? null,
        })) ?? [],
      problems: custom?.report.problems ?? [],
    }) satisfies DetectionsReport;
  const silentAfter = cfg.silentAfterSeconds ?? DEFAULT_SILENT_AFTER_SECONDS;
  const queryLimits: QueryLimits = { ...USER_QUERY_LIMITS, ...cfg.queryLimits };
  // Sized when NATS is reached (the data directory exists by then).
  const streamLimits: StreamLimits = {
    maxAgeHours: cfg.streamMaxAgeHours ?? DEFAULT_STREAM_LIMITS.maxAgeHours,
    maxBytes: cfg.streamMaxBytes ?? DEFAULT_STREAM_LIMITS.maxBytes,
  };
  const storageState = { ready: false, error: null as string | null };
  // The connection as its status events tell it: a dead nats-server reads "reconnecting", not "connected".
  const natsLink = { state: 'connected' as 'connected' | 'reconnecting', disconnects: 0 };

  const status = () => {
    const nowMs = Date.now();
    return {
      controlPlane: {
        version: CONTROL_PLANE_VERSION,
        storage: describeTarget(cfg.storage),
        storageHealthy: storageState.ready && (ingestor?.stats.storageHealthy ?? false),
        lastInsertError: storageState.error ?? ingestor?.stats.lastInsertError ?? null,
        nats: nc ? (nc.isClosed() ? 'closed' : natsLink.state) : 'not connected',
        natsDisconnects: natsLink.disconnects,
        stored: ingestor?.stats.stored ?? 0,
        inserts: ingestor?.stats.batches ?? 0,
        rejects: ingestor?.stats.rejects ?? {},
        lostInStream: ingestor?.stats.lostInStream ?? 0,
        retimed: ingestor?.stats.retimed ?? 0,
        heartbeatRejects: heartbeats?.rejects ?? {},
        heartbeats: heartbeats
          ? { hosts: heartbeats.latest.size, maxHosts: heartbeats.maxHosts, ...heartbeats.storage }
          : null,
        consumer: ingestor?.stats.consumer ?? null,
        alerts: alerts?.stats ?? null,
        alertFollowers: alerts?.live.listenerCount('alert') ?? 0,
        detectionState: engine?.stateStats ?? null,
        /** What those followers hold unsent, and the slow ones cut off (api/alert-stream.ts). */
        alertStream: followers?.report() ?? null,
        /** The same for followers of the live event stream (`vigil events --follow`). */
        eventStream: eventFollowers.report(),
        ...(cfg.supervised ? { supervised: cfg.supervised() } : {}),
      },
      sensors: [...(heartbeats?.latest.values() ?? [])].map(({ heartbeat: hb, receivedMs, cpuCores }) => {
        // By this control plane's clock: the sensor host's may be off (see ReceivedHeartbeat).
        const ageSeconds = (nowMs - receivedMs) / 1000;
        const receivedNs = BigInt(receivedMs) * 1_000_000n;
        // How far the sensor's clock runs ahead of this one's (negative: behind), transit included.
        const clockSkewSeconds = Number(BigInt(hb.ts) - receivedNs) / 1e9;
        // A sensor that stopped in order (its last heartbeat says so) is stopped, not silent.
        // An embedded sensor's RSS and CPU are this whole process's (the CLI says so).
        const sharesControlPlaneProcess = sharesThisProcess(hb);
        return {
          ...hb,
          receivedTs: receivedNs.toString(),
          ageSeconds,
          clockSkewSeconds,
          ...(cpuCores !== undefined ? { cpuCores } : {}),
          ...(sharesControlPlaneProcess ? { sharesControlPlaneProcess } : {}),
          silent: !hb.stopping && ageSeconds > silentAfter,
          stopped: hb.stopping === true,
        };
      }),
    } satisfies StatusReport;
  };

  const stop = await runSteps(
    [
      {
        // Refuse a bad configuration before touching storage or NATS.
        name: 'config',
        start: async () => {
          checkApiBinding(cfg.api.host, cfg.api.token);
        },
      },
      {
        name: 'storage',
        start: async (signal) => {
          ch = createStorageClients(cfg.storage, log);
          const target = describeTarget(cfg.storage);
          const retrying = new AbortController();
          let retried: Promise<void> = Promise.resolve();
          try {
            const applied = await migrate(ch.writer, undefined, signal);
            log.info({ 'storage.target': target, 'storage.migrations': applied }, 'storage ready');
            storageState.ready = true;
          } catch (err) {
            // A local data directory that fails is a configuration error: stop with it. A server that
            // refuses may come back: start anyway (events wait, unacked, in JetStream) and keep trying.
            if (cfg.storage.kind === 'embedded' || signal.aborted) {
              await ch.close();
              throw err;
            }
            storageState.error = (err as Error).message;
            const outage = new OutageLog(
              log,
              {
                down: 'storage unreachable; retrying in the background, events wait in JetStream',
                still: 'storage still unreachable',
                up: 'storage reachable again',
              },
              { 'storage.target': target },
            );
            outage.failed(err);
            retried = (async () => {
              while (await pause(backoffMs(outage.failures), retrying.signal)) {
                try {
                  await migrate(ch!.writer, undefined, retrying.signal);
                  storageState.ready = true;
                  storageState.error = null;
                  outage.succeeded();
                  return;
                } catch (e) {
                  if (retrying.signal.aborted) return;
                  storageState.error = (e as Error).message;
                  outage.failed(e);
                }
              }
            })();
          }
          return async () => {
            retrying.abort();
            await retried;
            await ch?.close();
          };
        },
      },
      {
        name: 'nats',
        start: async () => {
          nc = await connect({
            name: 'vigil-control-plane',
            maxReconnectAttempts: -1,
            reconnectTimeWait: 500,
            ...cfg.nats,
          });
          void (async () => {
            for await (const s of nc.status()) {
              if (s.type === 'disconnect') {
                natsLink.state = 'reconnecting';
                natsLink.disconnects++;
              }
              if (s.type === 'reconnect') natsLink.state = 'connected';
            }
          })();
          const size = sizeEventStream(
            cfg.streamMaxBytes,
            cfg.storage.kind === 'embedded' ? cfg.storage.dataDir : undefined,
          );
          streamLimits.maxBytes = size.maxBytes;
          const bytes = await ensureStreams(
            await nc.jetstreamManager(),
            streamLimits,
            cfg.streamMaxBytes !== undefined,
          );
          log.info(
            { 'stream.maxBytes': bytes, 'stream.maxAgeHours': streamLimits.maxAgeHours, 'stream.sized': size.maxBytes },
            bytes === size.maxBytes
              ? `events stream keeps up to ${Math.round(bytes / 1024 / 1024)} MiB: ${size.why}`
              : `events stream keeps up to ${Math.round(bytes / 1024 / 1024)} MiB, as it was made (${Math.round(size.maxBytes / 1024 / 1024)} MiB would be ${size.why}; --stream-max-mb resizes it)`,
          );
          return async () => {
            if (nc) await closeNats(nc);
          };
        },
      },
      {
        name: 'heartbeats',
        start: async () => {
          heartbeats = new HeartbeatTracker(
            new HeartbeatStore(ch!.heartbeats, ch!.reader, log),
            log,
            cfg.maxHosts !== undefined ? { maxHosts: cfg.maxHosts } : {},
          );
          await heartbeats.load();
          heartbeats.subscribe(nc!);
          return () => heartbeats?.stop();
        },
      },
      {
        name: 'detections',
        start: async () => {
          alerts = new AlertSink(ch!.writer, nc!.jetstream(), log);
          engine = new DetectionEngine({
            config: {
              expectedGpu: cfg.expectedGpu ?? { exe: [], cgroup: [] },
              sensorPids: (host) => {
                const hb = heartbeats?.latest.get(host)?.heartbeat;
                return new Set(
                  [hb?.sensorPid, ...(hb?.probes.map((p) => p.pid) ?? [])].filter(
                    (x): x is number => typeof x === 'number',
                  ),
                );
              },
            },
            throttleMs: (cfg.alertThrottleSeconds ?? 60) * 1000,
            silentAfterMs: silentAfter * 1000,
            onAlert: (a) => alerts!.push(a),
          });
          engine.setDetections(builtins);
          if (cfg.detections?.length) {
            custom = new CustomDetections(cfg.detections, engine, builtins, ch!.user, log, queryLimits);
            await custom.load();
            custom.watch();
          }
          const t = setInterval(() => engine?.tick(heartbeats?.forDetections()), 1000);
          return async () => {
            clearInterval(t);
            custom?.stop();
            await alerts?.stop();
          };
        },
      },
      {
        name: 'ingest',
        start: async () => {
          ingestor = new EventIngestor(nc!.jetstream(), ch!.writer, {
            batchSize: cfg.batchSize ?? 10_000,
            ...(cfg.storeLingerMs !== undefined ? { storeLingerMs: cfg.storeLingerMs } : {}),
            ...(cfg.detectLingerMs !== undefined ? { lingerMs: cfg.detectLingerMs } : {}),
            log,
            streams: streamLimits,
            notKept: () => ch!.notKept(),
            onEvents: (events) => {
              engine?.process(events);
              if (liveEvents.listenerCount(EVENT_TOPIC.event) > 0)
                for (const ev of events) liveEvents.emit(EVENT_TOPIC.event, ev);
            },
          });
          ingestor.start();
          return () => ingestor?.stop();
        },
      },
      {
        name: 'api',
        start: async () => {
          const metrics = new ControlPlaneMetrics(() => ({ ...status(), detections: detectionsReport().loaded }));
          followers = new AlertFollowers(alerts!.live);
          api = await startApi({
            ...cfg.api,
            ch: ch!.reader,
            userSql: ch!.user,
            queryLimits,
            status,
            followers,
            eventFollowers,
            detections: detectionsReport,
            metrics,
          });
          log.info({ 'api.url': `http://${cfg.api.host}:${cfg.api.port}` }, 'API listening');
          return async () => {
            await api?.close();
          };
        },
      },
    ],
    log,
    cfg.signal ? { signal: cfg.signal } : {},
  );

  const addr = api!.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : cfg.api.port;
  return { apiUrl: `http://${cfg.api.host}:${port}`, ingestor: ingestor!, engine: engine!, custom, stop };
}
