import { AckPolicy, DeliverPolicy, DiscardPolicy, nanos, RetentionPolicy, StorageType, type ConsumerConfig, type JetStreamManager, type StreamConfig } from 'nats';
import { ALERTS_STREAM, ALERTS_SUBJECTS, DEAD_LETTER_STREAM, DEAD_LETTER_SUBJECTS, EVENTS_STREAM, EVENTS_SUBJECTS, SENSOR_STREAM, SENSOR_SUBJECTS } from '@vigil/schema';

export const CONSUMER_NAME = 'vigil-control-plane';

export interface StreamLimits {
  /** How long unconsumed events stay in NATS (the buffer while storage is away). */
  maxAgeHours: number;
  maxBytes: number;
}

/** What the control plane keeps unconsumed when not told otherwise: three days, 8 GiB. */
export const DEFAULT_STREAM_LIMITS: StreamLimits = { maxAgeHours: 72, maxBytes: 8 * 1024 ** 3 };

const DAY = 24 * 3600;

function streamConfigs(limits: StreamLimits): Partial<StreamConfig>[] {
  return [
    {
      name: EVENTS_STREAM,
      subjects: [EVENTS_SUBJECTS],
      storage: StorageType.File,
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
      discard: DiscardPolicy.Old,
      max_msgs_per_subject: 100,
      max_age: nanos(DAY * 1000),
      max_bytes: 64 * 1024 * 1024,
    },
    {
      name: ALERTS_STREAM,
      subjects: [ALERTS_SUBJECTS],
      storage: StorageType.File,
      max_age: nanos(30 * DAY * 1000),
      duplicate_window: nanos(120_000),
    },
    {
      name: DEAD_LETTER_STREAM,
      subjects: [DEAD_LETTER_SUBJECTS],
      storage: StorageType.File,
      max_age: nanos(7 * DAY * 1000),
      max_bytes: 256 * 1024 * 1024,
    },
  ];
}

/**
 * The durable consumer's configuration: from the stream's start, or from `startSeq` when it is
 * recreated after it went missing (see DurableConsumer), so that nothing is delivered twice.
 */
function consumerConfig(startSeq?: number): Partial<ConsumerConfig> {
  return {
    durable_name: CONSUMER_NAME,
    ack_policy: AckPolicy.Explicit,
    ...(startSeq === undefined ? { deliver_policy: DeliverPolicy.All } : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: startSeq }),
    ack_wait: nanos(60_000),
    max_ack_pending: 50_000,
    max_deliver: -1,
  };
}

/** Creates the streams and the durable consumer when missing; leaves existing ones as they are. */
export async function ensureStreams(jsm: JetStreamManager, limits: StreamLimits): Promise<void> {
  for (const cfg of streamConfigs(limits)) {
    try {
      await jsm.streams.info(cfg.name!);
    } catch {
      await jsm.streams.add(cfg);
    }
  }
  try {
    await jsm.consumers.info(EVENTS_STREAM, CONSUMER_NAME);
  } catch {
    await jsm.consumers.add(EVENTS_STREAM, consumerConfig());
  }
}

/** Creates the durable consumer again, delivering from `startSeq` on (from the stream's start without it). */
export async function recreateConsumer(jsm: JetStreamManager, startSeq?: number): Promise<void> {
  await jsm.consumers.add(EVENTS_STREAM, consumerConfig(startSeq));
}

/** JetStream's error codes (the API's err_code) for a consumer or a stream that does not exist. */
const CONSUMER_NOT_FOUND = 10014;
const STREAM_NOT_FOUND = 10059;

/** What a JetStream API error says is missing, if anything. */
export function missingResource(err: unknown): 'consumer' | 'stream' | null {
  const code = (err as { api_error?: { err_code?: number } } | null)?.api_error?.err_code;
  return code === CONSUMER_NOT_FOUND ? 'consumer' : code === STREAM_NOT_FOUND ? 'stream' : null;
}
