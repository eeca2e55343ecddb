import { EVENTS_KEPT_DAYS } from '../store/claimed-time.js';
import type { Logger } from 'pino';
import type { EventV1, Step } from '@vigil/schema';
import { EventIngestor } from '../ingest/consumer.js';
import { HeartbeatTracker } from '../ingest/heartbeats.js';
import { HeartbeatStore } from '../ingest/heartbeat-store.js';
import { startApi } from '../api/server.js';
import { AlertSink } from '../alerts/sink.js';
import { DetectionEngine } from '../detect/engine.js';
import type { QueryLimits } from '../store/readonly-query.js';
import { ControlPlaneMetrics } from '../api/metrics.js';
import { AlertFollowers, EVENT_TOPIC } from '../api/alert-stream.js';
import type { ControlPlaneConfig } from './config.js';
import type { Parts } from './parts.js';
import { expectedGpuOf, followDetectionDirs } from './config-step.js';
import { detectionsReport, statusReport } from './reports.js';

/** The steps after storage and NATS, each using the parts of those before it. */

export function heartbeatsStep(cfg: ControlPlaneConfig, p: Parts, log: Logger): Step {
  return {
    name: 'heartbeats',
    start: async () => {
      const heartbeats = new HeartbeatTracker(
        new HeartbeatStore(p.ch!.heartbeats, p.ch!.reader, log),
        log,
        cfg.maxHosts !== undefined ? { maxHosts: cfg.maxHosts } : {},
      );
      p.heartbeats = heartbeats;
      await heartbeats.load();
      heartbeats.subscribe(p.nc!);
      return () => heartbeats.stop();
    },
  };
}

/** The pids of a host's sensor and its probes, from its last heartbeat (sensor.tamper aims at them). */
const sensorPidsOf = (p: Parts) => (host: string) => {
  const hb = p.heartbeats?.latest.get(host)?.heartbeat;
  return new Set(
    [hb?.sensorPid, ...(hb?.probes.map((x) => x.pid) ?? [])].filter((x): x is number => typeof x === 'number'),
  );
};

export function detectionsStep(
  cfg: ControlPlaneConfig,
  p: Parts,
  log: Logger,
  o: { silentAfterSeconds: number; queryLimits: QueryLimits },
): Step {
  return {
    name: 'detections',
    start: async () => {
      const alerts = new AlertSink(p.ch!.writer, p.nc!.jetstream(), log);
      p.alerts = alerts;
      const engine = new DetectionEngine({
        config: {
          // Read on each use: a reloaded vigil.yaml applies to the next event.
          get expectedGpu() {
            return expectedGpuOf(cfg, p);
          },
          sensorPids: sensorPidsOf(p),
        },
        throttleMs: (cfg.alertThrottleSeconds ?? 60) * 1000,
        silentAfterMs: o.silentAfterSeconds * 1000,
        // An alert a suppression matches is stored apart, not raised.
        onAlert: (a) => {
          if (!p.suppressor?.divert(a)) alerts.push(a);
        },
      });
      p.engine = engine;
      const stopCustom = await followDetectionDirs(cfg, p, engine, log, o.queryLimits);
      const t = setInterval(() => engine.tick(p.heartbeats?.forDetections()), 1000);
      return async () => {
        clearInterval(t);
        stopCustom();
        await alerts.stop();
      };
    },
  };
}

/** Where validated events go: the detections, and `vigil events --follow` while someone follows. */
export const eventsTo =
  (p: Parts) =>
  (events: EventV1[]): void => {
    p.engine?.process(events);
    if (p.liveEvents.listenerCount(EVENT_TOPIC.event) > 0)
      for (const ev of events) p.liveEvents.emit(EVENT_TOPIC.event, ev);
  };

/** Days back whose claimed times the events table stores as claimed: the retention in force. */
export const claimDaysOf = (p: Parts) => (): number =>
  p.retention ? p.retention.events.claimSeconds / 86_400 : EVENTS_KEPT_DAYS;

export function ingestStep(cfg: ControlPlaneConfig, p: Parts, log: Logger): Step {
  return {
    name: 'ingest',
    start: async () => {
      const ingestor = new EventIngestor(p.nc!.jetstream(), p.ch!.writer, {
        batchSize: cfg.batchSize ?? 10_000,
        ...(cfg.storeLingerMs !== undefined ? { storeLingerMs: cfg.storeLingerMs } : {}),
        ...(cfg.detectLingerMs !== undefined ? { lingerMs: cfg.detectLingerMs } : {}),
        log,
        streams: p.streamLimits,
        notKept: () => p.ch!.notKept(),
        claimDays: claimDaysOf(p),
        onEvents: eventsTo(p),
      });
      p.ingestor = ingestor;
      ingestor.start();
      return () => ingestor.stop();
    },
  };
}

export function apiStep(
  cfg: ControlPlaneConfig,
  p: Parts,
  log: Logger,
  o: { silentAfterSeconds: number; queryLimits: QueryLimits },
): Step {
  return {
    name: 'api',
    start: async () => {
      const status = () => statusReport(cfg, p, o.silentAfterSeconds);
      const detections = () => detectionsReport(p);
      const metrics = new ControlPlaneMetrics(() => ({ ...status(), detections: detections().loaded }));
      p.followers = new AlertFollowers(p.alerts!.live);
      const api = await startApi({
        ...cfg.api,
        ch: p.ch!.reader,
        userSql: p.ch!.user,
        queryLimits: o.queryLimits,
        status,
        followers: p.followers,
        eventFollowers: p.eventFollowers,
        detections,
        metrics,
        ...(p.response ? { respond: p.response.respond } : {}),
        routes: p.enroll ? [...p.routes, (app) => p.enroll!.routes(app)] : p.routes,
      });
      p.api = api;
      log.info({ 'api.url': `${cfg.api.tls ? 'https' : 'http'}://${cfg.api.host}:${cfg.api.port}` }, 'API listening');
      return async () => {
        await api.close();
      };
    },
  };
}
