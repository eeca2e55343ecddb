import { z } from 'zod/v4';
import { Severity } from './alert.v1.js';
import { EventKind } from './event.v1.js';
import { HeartbeatV1 } from './heartbeat.v1.js';
import { IncidentStatus } from './incident.v1.js';
import { Actor, ResponseAction } from './response.v1.js';
import { HostId } from './subjects.js';

/**
 * The HTTP API's shapes (`/api/v1/...`), defined once: the control plane validates requests with the
 * filters and builds its answers to satisfy the rest; the CLI and the tests read the same types.
 */

/** Nanoseconds since the epoch, as ClickHouse's Int64 takes them. */
const Ns = z
  .string()
  .refine(
    (s) => /^\d{1,19}$/.test(s) && BigInt(s) <= 0x7fff_ffff_ffff_ffffn,
    'nanoseconds since the epoch, at most Int64',
  );

/** Rows a list answer holds at most, and by default. */
export const MAX_LIST_LIMIT = 10_000;
const Limit = z.coerce.number().int().min(1).max(MAX_LIST_LIMIT).default(100);

/**
 * Filters of `GET /api/v1/events` and `/events/stream`, for stored events and live ones alike; every
 * value reaches ClickHouse as a bound parameter. Query-string values arrive as text.
 */
export const EventFilter = z.object({
  kind: EventKind.optional(),
  comm: z.string().max(64).optional(),
  pid: z.coerce.number().int().nonnegative().max(0xffff_ffff).optional(),
  host: HostId.optional(),
  /** Scheduler job (Slurm job, Kubernetes pod), as the process's cgroup names it. */
  job: z.string().min(1).max(256).optional(),
  /** Container id or a prefix of it (12 characters, as `docker ps` shows it). */
  container: z
    .string()
    .regex(/^[0-9a-zA-Z_.-]{1,128}$/)
    .optional(),
  uid: z.coerce.number().int().nonnegative().max(0xffff_ffff).optional(),
  /** The executable: for an exec the file it tried to run, for the rest the process's. */
  exe: z.string().min(1).max(4096).optional(),
  /** true: only execs that failed (execve returned an error); false: everything but those. */
  failed: z.stringbool().optional(),
  /** Lower bound, ns since epoch. */
  sinceNs: Ns.optional(),
  /** Upper bound (exclusive), ns since epoch. */
  untilNs: Ns.optional(),
  limit: Limit,
});
export type EventFilter = z.infer<typeof EventFilter>;

/** Filters of `GET /api/v1/alerts` and `/alerts/stream`. */
export const AlertFilter = z.object({
  sinceNs: z.string().regex(/^\d+$/).optional(),
  /** Minimum severity: "high" shows high and critical. */
  severity: Severity.optional(),
  rule: z.string().max(200).optional(),
  host: HostId.optional(),
  /** true: the alerts suppressions held back (with the suppression's reason), instead of raised ones. */
  suppressed: z.stringbool().optional(),
  limit: Limit,
});
export type AlertFilter = z.infer<typeof AlertFilter>;

/** Filters of `GET /api/v1/incidents` (`vigil incidents`). */
export const IncidentFilter = z.object({
  status: IncidentStatus.optional(),
  /** Minimum severity. */
  severity: Severity.optional(),
  host: HostId.optional(),
  job: z.string().min(1).max(256).optional(),
  /** Incidents with at least one alert of this rule. */
  rule: z.string().max(200).optional(),
  /** Incidents whose last activity is at or after this (ns since epoch). */
  sinceNs: Ns.optional(),
  limit: Limit,
});
export type IncidentFilter = z.infer<typeof IncidentFilter>;
export type IncidentQuery = Omit<IncidentFilter, 'limit'> & { limit?: number };

/** `POST /api/v1/incidents/:id/{ack,resolve,reopen}`: who, and an optional note. */
export const IncidentTransition = z.object({ by: Actor, note: z.string().min(1).max(4000).optional() }).strict();
export type IncidentTransition = z.infer<typeof IncidentTransition>;

/** `POST /api/v1/incidents/:id/notes`. */
export const IncidentNoteRequest = z.object({ by: Actor, text: z.string().min(1).max(4000) }).strict();
export type IncidentNoteRequest = z.infer<typeof IncidentNoteRequest>;

/**
 * `POST /api/v1/respond` (`vigil respond kill`): a manual order. The control plane fills the target's
 * start time from its events when `startTs` is absent (the newest process with that pid on the host).
 */
export const RespondRequest = z
  .object({
    host: HostId,
    pid: z.number().int().positive(),
    startTs: Ns.optional(),
    action: ResponseAction,
    by: Actor,
    reason: z.string().max(2000).default(''),
    incidentId: z.string().max(128).optional(),
    dryRun: z.boolean().default(false),
  })
  .strict();
export type RespondRequest = z.infer<typeof RespondRequest>;

/** `GET /api/v1/alerts?suppressed=true` lists suppressed alerts instead (see AlertFilter). */

/** What a client sends as a filter: the filter's values, the limit left to its default when absent. */
export type EventQuery = Omit<EventFilter, 'limit'> & { limit?: number };
export type AlertQuery = Omit<AlertFilter, 'limit'> & { limit?: number };

/** Filters of `GET /api/v1/egress`. */
export const EgressFilter = z.object({
  host: HostId.optional(),
  /** Scheduler job, as the process's cgroup names it. */
  job: z.string().min(1).max(256).optional(),
  sinceNs: Ns.optional(),
  untilNs: Ns.optional(),
  limit: Limit,
});
export type EgressFilter = z.infer<typeof EgressFilter>;
export type EgressQuery = Omit<EgressFilter, 'limit'> & { limit?: number };

/**
 * One row of `GET /api/v1/egress` (`vigil egress`): the outbound TCP connections one process held to
 * one destination, from its conn events (established out and their closes).
 */
export const EgressRow = z.object({
  host: z.string(),
  /** null when the process's cgroup names no job. */
  job: z.string().nullable(),
  pid: z.number().int().nonnegative(),
  comm: z.string(),
  exe: z.string(),
  family: z.enum(['ipv4', 'ipv6']),
  addr: z.string(),
  port: z.number().int().min(0).max(65535),
  /** Connections established. */
  connections: z.number().int().nonnegative(),
  /** Of these (or of ones established before the range), how many were closed. */
  closed: z.number().int().nonnegative(),
  /** The longest a closed one was held, and all closed ones together (ms); null when none closed. */
  longestMs: z.number().nonnegative().nullable(),
  totalMs: z.number().nonnegative().nullable(),
  /** Nanoseconds since the epoch: the first and the last event of the row. */
  firstTs: z.string(),
  lastTs: z.string(),
});
export type EgressRow = z.infer<typeof EgressRow>;

export const EgressReport = z.object({
  rows: z.array(EgressRow),
  /** There were more rows than the limit. */
  rowsTruncated: z.boolean(),
});
export type EgressReport = z.infer<typeof EgressReport>;

/** `POST /api/v1/query`'s answer: the rows of one user query, within the API's bounds. */
export const QueryResult = z.object({
  columns: z.array(z.object({ name: z.string(), type: z.string() })),
  rows: z.array(z.record(z.string(), z.unknown())),
  /** The query had more rows than came back. */
  rowsTruncated: z.boolean(),
  /** Which bound cut the result, with its value; null when it came back whole. */
  cut: z.object({ by: z.enum(['rows', 'bytes']), limit: z.number() }).nullable(),
});
export type QueryResult = z.infer<typeof QueryResult>;

/** `GET /api/v1/detections`. */
export const DetectionsReport = z.object({
  /** `ranks`: how a finding may rank other than `severity`. Heartbeat-driven built-ins (sensor.silent …) have origin `heartbeat`. */
  loaded: z.array(
    z.object({
      id: z.string(),
      title: z.string(),
      severity: z.string(),
      ranks: z.object({ min: z.string(), max: z.string(), rule: z.string() }).optional(),
      source: z.string(),
      origin: z.string(),
      author: z.string().nullable(),
      fired: z.number(),
      errors: z.number(),
    }),
  ),
  sql: z.array(
    z.object({
      id: z.string(),
      title: z.string(),
      severity: z.string(),
      origin: z.string(),
      intervalMs: z.number(),
      lastError: z.string().nullable(),
    }),
  ),
  problems: z.array(z.object({ path: z.string(), reason: z.string(), unsupported: z.boolean() })),
});
export type DetectionsReport = z.infer<typeof DetectionsReport>;

const Counts = z.record(z.string(), z.number());

/** A live stream's followers (`vigil alerts --follow`, `vigil events --follow`): what they hold unsent, and those cut off. */
export const LiveStreamReport = z.object({
  followers: z.number(),
  /** What the followers' connections hold in this process now, unsent. */
  bufferedBytes: z.number(),
  /** The most one follower's connection held after a write (never above budgetBytes). */
  maxBufferedBytes: z.number(),
  budgetBytes: z.number(),
  /** Followers cut off for leaving more than budgetBytes unread. */
  slowDisconnects: z.number(),
  /** Items (alerts, events) a follower did not get because it was cut off (one per cut). */
  dropped: z.number(),
  /** Followers refused because too many were connected. */
  refused: z.number(),
});
export type LiveStreamReport = z.infer<typeof LiveStreamReport>;

/** Each sensor's newest heartbeat as the control plane received it, with what it makes of it. */
export const SensorStatus = HeartbeatV1.extend({
  /** Since it was received, by the control plane's clock. */
  ageSeconds: z.number(),
  /** Nanoseconds since the epoch when it was received. */
  receivedTs: z.string(),
  /** How far the sensor's clock runs ahead of the control plane's (negative: behind), transit included. */
  clockSkewSeconds: z.number(),
  /** CPU the sensor used between its last two heartbeats, in cores. */
  cpuCores: z.number().optional(),
  /** It runs inside the control plane's process: its process figures are the whole process's. */
  sharesControlPlaneProcess: z.boolean().optional(),
  silent: z.boolean(),
  /** Its last heartbeat said it stopped in order. */
  stopped: z.boolean(),
});
export type SensorStatus = z.infer<typeof SensorStatus>;

/** `GET /api/v1/status` (and what `/metrics` reads). */
/** A table's TTL, and how far back the times rows claim are stored as claimed (older: at the insert's time). */
export const TableRetention = z.object({ ttlSeconds: z.number(), claimSeconds: z.number() });
export type TableRetention = z.infer<typeof TableRetention>;

export const StatusReport = z.object({
  controlPlane: z.object({
    version: z.string(),
    storage: z.string(),
    storageHealthy: z.boolean(),
    lastInsertError: z.string().nullable(),
    /** The NATS connection: connected, reconnecting, closed, not connected. */
    nats: z.string(),
    natsDisconnects: z.number(),
    stored: z.number(),
    /** Inserts into `events` that succeeded (each may hold many messages' events). */
    inserts: z.number(),
    /** Messages refused, by reason. */
    rejects: Counts,
    /** Messages the stream dropped (its limits) before ingestion read them. */
    lostInStream: z.number(),
    /** Events stored at their arrival because the time they claim is outside what storage keeps. */
    retimed: z.number(),
    /** Heartbeats refused, by reason (replayed, too-many-hosts, malformed, another host's). */
    heartbeatRejects: Counts,
    heartbeats: z
      .object({
        hosts: z.number(),
        maxHosts: z.number(),
        stored: z.number(),
        inserts: z.number(),
        dropped: z.number(),
        lastError: z.string().nullable(),
      })
      .nullable(),
    /** The durable consumer ingestion reads: unhealthy (with the problem) while it is missing. */
    consumer: z
      .object({
        healthy: z.boolean(),
        problem: z.string().nullable(),
        recreated: z.number(),
        lastProblem: z.string().nullable(),
      })
      .nullable(),
    alerts: z
      .object({
        raised: z.number(),
        stored: z.number(),
        published: z.number(),
        dropped: z.number(),
        lastError: z.string().nullable(),
      })
      .nullable(),
    /** Clients following the live alert stream (`vigil alerts --follow`). */
    alertFollowers: z.number(),
    /** The detection engine's per-process state: bytes held of its budget, processes let go by reason. */
    /** Alert windows open now, and findings folded into a group alert or past a rule's rate cap. */
    alertThrottle: z
      .object({ open: z.number(), closedEarly: z.number(), groupedByShape: z.number(), overRateCap: z.number() })
      .nullable()
      .optional(),
    detectionState: z
      .object({
        processes: z.number(),
        bytes: z.number(),
        budgetBytes: z.number(),
        released: Counts,
        evicted: Counts,
        eventsOverShare: z.number(),
      })
      .nullable(),
    alertStream: LiveStreamReport.nullable(),
    eventStream: LiveStreamReport,
    /** The configuration file (vigil.yaml): which, when loaded, and the last reload's problem (the previous version stays). */
    config: z
      .object({
        path: z.string().nullable(),
        loadedTs: z.string().nullable(),
        reloads: z.number(),
        lastError: z.string().nullable(),
      })
      .optional(),
    /** What the tables keep (vigil.yaml `retention:`, defaults where it says nothing), and why applying it last failed. */
    retention: z
      .object({
        events: TableRetention,
        alerts: TableRetention,
        lastError: z.string().nullable(),
      })
      .optional(),
    /** Alerts suppressions held back, by suppression (its rule and reason). */
    suppressed: z
      .object({
        total: z.number(),
        byRule: Counts,
        /** Suppressions past their expiry (they no longer apply): time to remove them from the file. */
        expired: z
          .array(z.object({ index: z.number(), rule: z.string(), reason: z.string(), expires: z.string() }))
          .optional(),
      })
      .optional(),
    incidents: z
      .object({ open: z.number(), acknowledged: z.number(), updates: z.number(), lastError: z.string().nullable() })
      .optional(),
    /** Each output by name: sent, failed attempts, retrying now, dead-lettered. */
    outputs: z
      .array(
        z.object({
          name: z.string(),
          type: z.string(),
          sent: z.number(),
          failed: z.number(),
          retrying: z.number(),
          deadLettered: z.number(),
          /** Acked unsent: below the output's minSeverity or outside its rules. */
          skipped: z.number().optional(),
          /** Acked unsent: redeliveries of what it sent already (or of an incident's older version). */
          duplicates: z.number().optional(),
          lastError: z.string().nullable(),
        }),
      )
      .optional(),
    /**
     * Response orders by outcome (killed, dry-run, refused, failed, no-answer), and those waiting for an
     * answer; answers refused by reason (`host-mismatch`: a host answering for another host's order,
     * `unknown-order`, `schema`, `json`); alerts a policy took but ordered nothing for, by reason
     * (`notify`, `no-start-time`, `no-process`, `not-sent`).
     */
    responses: z
      .object({
        outcomes: Counts,
        pending: z.number(),
        rejectedResults: Counts.optional(),
        policySkipped: Counts.optional(),
      })
      .optional(),
    /** The processes run beside it (`vigil up`: nats-server and its JetStream, the sensor). */
    supervised: z.custom<object>((v) => typeof v === 'object' && v !== null).optional(),
  }),
  sensors: z.array(SensorStatus),
});
export type StatusReport = z.infer<typeof StatusReport>;
