/** NATS subjects and stream names: the wire contract between sensors and the control plane. */
import { z } from 'zod/v4';

/**
 * What a host id may be: one NATS subject token (no ".", which splits tokens, no "*", ">" or
 * whitespace, which subjects reserve), and no more than a DNS name. The control plane refuses (and
 * dead-letters) events whose host breaks it; the sensor refuses to start with one.
 */
export const HOST_ID_RULE =
  'letters, digits, "_" and "-", starting with a letter or digit, at most 253 characters (one NATS subject token: no ".")';
const HOST_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
const HOST_ID_MAX = 253;

export const HostId = z.string().min(1).max(HOST_ID_MAX).regex(HOST_ID_PATTERN, `host id: ${HOST_ID_RULE}`);
export type HostId = z.infer<typeof HostId>;

/** Why `id` is no host id (the rule it breaks), or null when it is one. */
export function hostIdProblem(id: string): string | null {
  return HostId.safeParse(id).success ? null : `${JSON.stringify(id)} is not a valid host id: ${HOST_ID_RULE}`;
}

/** A host id from a hostname: characters a host id may not hold (dots first of all) become "_". */
export const hostIdFrom = (hostname: string): string =>
  hostname
    .replace(/[^A-Za-z0-9_-]/g, '_')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, HOST_ID_MAX) || 'host';

export const EVENTS_STREAM = 'VIGIL_EVENTS';
export const SENSOR_STREAM = 'VIGIL_SENSOR';
export const DEAD_LETTER_STREAM = 'VIGIL_DEAD_LETTER';
export const EVENTS_SUBJECTS = 'vigil.events.>';
export const SENSOR_SUBJECTS = 'vigil.sensor.>';
export const DEAD_LETTER_SUBJECTS = 'vigil.deadletter.>';
/** The JetStream key-value bucket of the control plane's own coordination, and its ingest lease's key. */
export const CONTROL_PLANE_BUCKET = 'VIGIL_CONTROL_PLANE';
export const INGEST_LEASE_KEY = 'ingest';

export const eventSubject = (host: string, kind: string): string => `vigil.events.${host}.${kind}`;
export const heartbeatSubject = (host: string): string => `vigil.sensor.${host}.heartbeat`;
export const deadLetterSubject = (reason: string): string => `vigil.deadletter.${reason}`;

/**
 * The host token of an events subject, or null when the subject is not one: `vigil.events.<host>.<kind>`
 * as the sensor publishes it, or `vigil.events.<host>.<partition>.<kind>` as nats-server's partition
 * mapping (partitionedEventsMapping) stores it.
 */
export function hostOfEventSubject(subject: string): string | null {
  const parts = subject.split('.');
  if (parts[0] !== 'vigil' || parts[1] !== 'events') return null;
  if (parts.length === 4) return parts[2] ?? null;
  return parts.length === 5 && PARTITION_TOKEN.test(parts[3]!) ? (parts[2] ?? null) : null;
}

/** The partition token of a partitioned events subject, or null when it has none. */
export function partitionOfEventSubject(subject: string): number | null {
  const parts = subject.split('.');
  return hostOfEventSubject(subject) !== null && parts.length === 5 ? Number(parts[3]) : null;
}

const PARTITION_TOKEN = /^(0|[1-9][0-9]{0,4})$/;

/**
 * The account subject mapping that partitions the events stream by host (control-plane replicas): the
 * server rewrites what a sensor publishes on `vigil.events.<host>.<kind>` to
 * `vigil.events.<host>.<p>.<kind>`, p = FNV-1a of the host token modulo `partitions` (nats-server's
 * `partition()`, in server configuration and in an account JWT's `mappings`; the JWT form refuses a
 * `>` in the destination, so four tokens are mapped). It is applied once, never to its own output, and
 * the host stays at the token its publish permission names. A host may publish a five-token subject
 * itself, which is not mapped: the control plane refuses one whose partition is not its host's
 * (`partition-mismatch`), so no host places its events in two partitions.
 */
export const partitionedEventsMapping = (partitions: number): Record<string, string> => ({
  'vigil.events.*.*': `vigil.events.{{wildcard(1)}}.{{partition(${partitions},1)}}.{{wildcard(2)}}`,
});
/** What one partition's durable consumer reads. */
export const partitionEventsFilter = (partition: number): string => `vigil.events.*.${partition}.>`;
/** A partition's ingest lease in CONTROL_PLANE_BUCKET, and a live replica's presence there. */
export const partitionLeaseKey = (partition: number): string => `${INGEST_LEASE_KEY}-p${partition}`;
export const REPLICA_KEY_PREFIX = 'replica.';
export const replicaKey = (instance: string): string => `${REPLICA_KEY_PREFIX}${instance}`;

/** The partition nats-server's `partition(partitions, 1)` gives a host token: FNV-1a 32 bits, modulo. */
export function partitionOfHost(host: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(host)) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % partitions;
}

/**
 * Where replies to a connection's requests arrive (nats.js `inboxPrefix`): one prefix per NATS user,
 * so a user's subscribe permission can name its own replies and nobody else's (a sensor allowed
 * `_INBOX.>` would read the control plane's pull deliveries: every host's events).
 */
export const sensorInboxPrefix = (host: string): string => `_INBOX_sensor.${host}`;
export const CONTROL_PLANE_INBOX_PREFIX = '_INBOX_control-plane';

/** Every subject one host's sensor publishes: its events and its heartbeats (a NATS user's allow-list). */
export const hostPublishSubjects = (host: string): string[] => [`vigil.events.${host}.>`, `vigil.sensor.${host}.>`];
