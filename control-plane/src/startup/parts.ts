import { EventEmitter } from 'node:events';
import type { NatsConnection } from 'nats';
import type { FastifyInstance } from 'fastify';
import type { EventV1, TableRetention } from '@vigil/schema';
import type { StorageClients } from '../store/client.js';
import type { RetainedTable } from '../store/retention.js';
import type { Ingestor } from '../ingest/consumer.js';
import type { HeartbeatTracker } from '../ingest/heartbeats.js';
import type { AlertSink } from '../alerts/sink.js';
import type { DetectionEngine, LoadedDetection } from '../detect/engine.js';
import type { CustomDetections } from '../detect/custom/manager.js';
import { BUILTIN_DETECTIONS, SENSOR_HEALTH_DETECTIONS } from '../detect/builtin/index.js';
import { type AlertFollowers, EVENT_TOPIC, LiveFollowers } from '../api/alert-stream.js';
import type { StreamLimits } from '../ingest/streams.js';
import type { ConfigSource } from '../config/source.js';
import type { Suppressor } from '../alerts/suppress.js';
import type { ResponsePart } from './response-step.js';
import type { Outputs } from '../outputs/manager.js';
import type { IncidentManager } from '../incidents/manager.js';
import type { IncidentStore } from '../incidents/store.js';
import type { EnrollService } from '../enroll/service.js';
import type { IngestLease } from '../ingest/ingest-lease.js';

/**
 * The control plane's parts as its startup steps make them: each step fills its own and reads those
 * of the steps before it; the status report reads whatever has started.
 */
export interface Parts {
  ch: StorageClients | null;
  nc: NatsConnection | null;
  ingestor: Ingestor | null;
  heartbeats: HeartbeatTracker | null;
  api: FastifyInstance | null;
  alerts: AlertSink | null;
  followers: AlertFollowers | null;
  engine: DetectionEngine | null;
  custom: CustomDetections | null;
  /** vigil.yaml as loaded (StaticConfig defaults without one), and the suppressions it holds. */
  config: ConfigSource | null;
  suppressor: Suppressor | null;
  /** Enrollment and host credentials (startup/enroll-step.ts), when given an account signing key. */
  enroll?: EnrollService;
  /** Events as they are validated, for `vigil events --follow`: emitted only while someone follows. */
  liveEvents: EventEmitter;
  eventFollowers: LiveFollowers<EventV1>;
  /** Sized when NATS is reached (the data directory exists by then). */
  streamLimits: StreamLimits;
  storage: { ready: boolean; error: string | null };
  /** The connection as its status events tell it: a dead nats-server reads "reconnecting", not "connected". */
  natsLink: { state: 'connected' | 'reconnecting'; disconnects: number };
  /** Response orders (response-step.ts), once that step ran. */
  response?: ResponsePart;
  /** The outputs of vigil.yaml (absent before their step). */
  outputs?: Outputs;
  /** Incidents (startup/incidents-step.ts): the response step calls incidentOfAlert and recordResponse. */
  incidents?: IncidentManager;
  incidentStore?: IncidentStore;
  /** API routes the steps before the API add (each registers its own under /api/v1). */
  routes: ((app: FastifyInstance) => void)[];
  /** What each table keeps (startup/retention-step.ts), and why the last try to apply it failed. */
  retention?: Record<RetainedTable, TableRetention>;
  retentionError?: string | null;
  /** The events stream's ingest lease, once taken (startup/lease-step.ts). */
  lease?: IngestLease;
}

export function newParts(streamLimits: StreamLimits): Parts {
  const liveEvents = new EventEmitter().setMaxListeners(0);
  return {
    ch: null,
    nc: null,
    ingestor: null,
    heartbeats: null,
    api: null,
    alerts: null,
    followers: null,
    engine: null,
    custom: null,
    config: null,
    suppressor: null,
    liveEvents,
    eventFollowers: new LiveFollowers<EventV1>(liveEvents, EVENT_TOPIC),
    streamLimits,
    storage: { ready: false, error: null },
    natsLink: { state: 'connected', disconnects: 0 },
    routes: [],
  };
}

/** The built-ins matched on events. */
export const BUILTINS: LoadedDetection[] = Object.values(BUILTIN_DETECTIONS).map((detection) => ({
  detection,
  source: 'builtin',
  author: null,
  origin: 'builtin',
}));

/** The built-ins raised from the sensors' heartbeats, not matched on events (listed beside the others). */
export const HEARTBEAT_DETECTIONS: LoadedDetection[] = Object.values(SENSOR_HEALTH_DETECTIONS).map((detection) => ({
  detection,
  source: 'builtin',
  author: null,
  origin: 'heartbeat',
}));
