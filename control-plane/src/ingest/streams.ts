import { statfsSync } from 'node:fs';
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  nanos,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type JetStreamManager,
  type StreamConfig,
} from 'nats';
import {
  ALERTS_STREAM,
  ALERTS_SUBJECTS,
  DEAD_LETTER_STREAM,
  DEAD_LETTER_SUBJECTS,
  INCIDENTS_STREAM,
  INCIDENTS_SUBJECTS,
  EVENTS_STREAM,
  EVENTS_SUBJECTS,
  SENSOR_STREAM,
  SENSOR_SUBJECTS,
} from '@vigil/schema';

export const CONSUMER_NAME = 'vigil-control-plane';

/** A durable consumer of the events stream: the whole stream, or one partition of it (`filter`). */
export interface ConsumerSpec {
  name: string;
  filter?: string;
  /** How long a delivered message waits for its ack before it comes again (60 s unless told). */
  ackWaitMs?: number;
}
/** The one consumer a single control plane reads. */
export const EVENTS_CONSUMER: ConsumerSpec = { name: CONSUMER_NAME };

export interface StreamLimits {
  /** How long unconsumed events stay in NATS (the buffer while storage is away). */
  maxAgeHours: number;
  maxBytes: number;
  /** Each stream's replicas: 3 on a JetStream cluster of three servers or more (see streamReplicas), else 1. */
  replicas?: number;
}

/** What the control plane keeps unconsumed when not told otherwise: three days, 8 GiB at most. */
export const DEFAULT_STREAM_LIMITS: StreamLimits = { maxAgeHours: 72, maxBytes: 8 * 1024 ** 3 };

/**
 * The share of the free space the events stream is sized to when not told: nats-server reserves a
 * stream's max_bytes against 75% of its disk's free space, and refuses the stream beyond that.
 */
export const STREAM_FREE_SHARE = 0.25;
/** The smallest events stream sized from free space: below this it would buffer too little to be worth it. */
export const STREAM_MIN_BYTES = 64 * 1024 * 1024;

/** The events stream's size, and why (said at start). */
export interface StreamSize {
  maxBytes: number;
  why: string;
}

const mib = (n: number): string => `${Math.round(n / 1024 / 1024)} MiB`;

/**
 * The events stream's max bytes: `requested` when given; else a quarter of the free space of `dir`
 * (where NATS and storage keep their data), at most DEFAULT_STREAM_LIMITS.maxBytes and at least
 * STREAM_MIN_BYTES; the default when `dir` is unknown or unreadable.
 */
export function sizeEventStream(
  requested: number | undefined,
  dir: string | undefined,
  free: (dir: string) => number = freeBytes,
): StreamSize {
  if (requested !== undefined) return { maxBytes: requested, why: 'as configured (--stream-max-mb)' };
  const cap = DEFAULT_STREAM_LIMITS.maxBytes;
  if (dir === undefined) return { maxBytes: cap, why: 'the default: no local data directory to size it from' };
  let space: number;
  try {
    space = free(dir);
  } catch (err) {
    return { maxBytes: cap, why: `the default: the free space of ${dir} is unknown (${(err as Error).message})` };
  }
  const share = Math.floor(space * STREAM_FREE_SHARE);
  if (share >= cap)
    return { maxBytes: cap, why: `the most kept by default (a quarter of the ${mib(space)} free in ${dir} is more)` };
  if (share < STREAM_MIN_BYTES)
    return {
      maxBytes: STREAM_MIN_BYTES,
      why: `the least kept (${mib(space)} free in ${dir}; a quarter of it is less)`,
    };
  return { maxBytes: share, why: `a quarter of the ${mib(space)} free in ${dir}` };
}

const freeBytes = (dir: string): number => {
  const st = statfsSync(dir);
  return st.bavail * st.bsize;
};

const DAY = 24 * 3600;

function streamConfigs(limits: StreamLimits): Partial<StreamConfig>[] {
  const num_replicas = limits.replicas ?? 1;
  return [
    {
      name: EVENTS_STREAM,
      subjects: [EVENTS_SUBJECTS],
      storage: StorageType.File,
      num_replicas,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      max_age: nanos(limits.maxAgeHours * 3600 * 1000),
      max_bytes: limits.maxBytes,
      // Nats-Msg-Id dedup: a sensor retrying a publish does not store the event twice.
      duplicate_window: nanos(120_000),
    },
    {
      // Heartbeats, kept for inspection; bounded in bytes too: subjects are one per host, and a
      // publisher inventing hosts would otherwise keep 100 messages of each for a day.
      name: SENSOR_STREAM,
      subjects: [SENSOR_SUBJECTS],
      storage: StorageType.File,
      num_replicas,
      discard: DiscardPolicy.Old,
      max_msgs_per_subject: 100,
      max_age: nanos(DAY * 1000),
      max_bytes: 64 * 1024 * 1024,
    },
    {
      name: ALERTS_STREAM,
      subjects: [ALERTS_SUBJECTS],
      storage: StorageType.File,
      num_replicas,
      max_age: nanos(30 * DAY * 1000),
      duplicate_window: nanos(120_000),
    },
    {
      // Each version of an incident; a retried publish (same `<id>-<version>`) is dropped.
      name: INCIDENTS_STREAM,
      subjects: [INCIDENTS_SUBJECTS],
      storage: StorageType.File,
      max_age: nanos(30 * DAY * 1000),
      duplicate_window: nanos(120_000),
    },
    {
      name: DEAD_LETTER_STREAM,
      subjects: [DEAD_LETTER_SUBJECTS],
      storage: StorageType.File,
      num_replicas,
      max_age: nanos(7 * DAY * 1000),
      max_bytes: 256 * 1024 * 1024,
    },
  ];
}

/**
 * The durable consumer's configuration: from the stream's start, or from `startSeq` when it is
 * recreated after it went missing (see DurableConsumer), so that nothing is delivered twice.
 */
function consumerConfig(startSeq?: number, spec: ConsumerSpec = EVENTS_CONSUMER): Partial<ConsumerConfig> {
  return {
    durable_name: spec.name,
    ...(spec.filter !== undefined ? { filter_subject: spec.filter } : {}),
    ack_policy: AckPolicy.Explicit,
    ...(startSeq === undefined
      ? { deliver_policy: DeliverPolicy.All }
      : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: startSeq }),
    ack_wait: nanos(spec.ackWaitMs ?? 60_000),
    max_ack_pending: 50_000,
    max_deliver: -1,
  };
}

/** A stream's replicas could not be raised (the cluster refused): it keeps those it has. */
export interface ReplicaShortfall {
  stream: string;
  has: number;
  wanted: number;
  error: string;
}

/**
 * Creates the streams and the durable consumer when missing; leaves existing ones as they are, except
 * the events stream's max bytes when `resize` (told explicitly: a size chosen from free space would
 * shrink the stream as it fills), and a stream's replicas when fewer than `limits.replicas` (raised
 * where the cluster can: a stream made while it was forming; never lowered, a cluster that looks
 * smaller for a moment must not shed copies). Returns the events stream's max bytes as it now is, and
 * the streams whose replicas could not be raised.
 */
export async function ensureStreams(
  jsm: JetStreamManager,
  limits: StreamLimits,
  resize = false,
): Promise<{ eventsBytes: number; shortfalls: ReplicaShortfall[] }> {
  let eventsBytes = limits.maxBytes;
  const shortfalls: ReplicaShortfall[] = [];
  for (const cfg of streamConfigs(limits)) {
    let existing: StreamConfig;
    try {
      existing = (await jsm.streams.info(cfg.name!)).config;
    } catch {
      await jsm.streams.add(cfg);
      continue;
    }
    const wanted = cfg.num_replicas ?? 1;
    if (existing.num_replicas < wanted) {
      try {
        existing = (await jsm.streams.update(cfg.name!, { ...existing, num_replicas: wanted })).config;
      } catch (err) {
        shortfalls.push({ stream: cfg.name!, has: existing.num_replicas, wanted, error: (err as Error).message });
      }
    }
    if (cfg.name !== EVENTS_STREAM) continue;
    if (resize && existing.max_bytes !== limits.maxBytes)
      await jsm.streams.update(EVENTS_STREAM, { ...existing, max_bytes: limits.maxBytes });
    else eventsBytes = existing.max_bytes;
  }
  try {
    await jsm.consumers.info(EVENTS_STREAM, CONSUMER_NAME);
  } catch {
    await jsm.consumers.add(EVENTS_STREAM, consumerConfig());
  }
  return { eventsBytes, shortfalls };
}

/** Creates the durable consumer again, delivering from `startSeq` on (from the stream's start without it). */
export async function recreateConsumer(
  jsm: JetStreamManager,
  startSeq?: number,
  spec: ConsumerSpec = EVENTS_CONSUMER,
): Promise<void> {
  await jsm.consumers.add(EVENTS_STREAM, consumerConfig(startSeq, spec));
}

/** Creates a durable consumer from the stream's start when it does not exist yet (a partition's first reader). */
export async function ensureConsumer(jsm: JetStreamManager, spec: ConsumerSpec): Promise<void> {
  try {
    await jsm.consumers.info(EVENTS_STREAM, spec.name);
  } catch (err) {
    if (missingResource(err) !== 'consumer') throw err;
    await jsm.consumers.add(EVENTS_STREAM, consumerConfig(undefined, spec));
  }
}

/** JetStream's error codes (the API's err_code) for a consumer or a stream that does not exist. */
const CONSUMER_NOT_FOUND = 10014;
const STREAM_NOT_FOUND = 10059;

/** What a JetStream API error says is missing, if anything. */
export function missingResource(err: unknown): 'consumer' | 'stream' | null {
  const code = (err as { api_error?: { err_code?: number } } | null)?.api_error?.err_code;
  return code === CONSUMER_NOT_FOUND ? 'consumer' : code === STREAM_NOT_FOUND ? 'stream' : null;
}
