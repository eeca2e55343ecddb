import { AckPolicy, DeliverPolicy, DiscardPolicy, nanos, RetentionPolicy, StorageType, type JetStreamManager, type StreamConfig } from 'nats';
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
      name: SENSOR_STREAM,
      subjects: [SENSOR_SUBJECTS],
      storage: StorageType.File,
      max_msgs_per_subject: 100,
      max_age: nanos(DAY * 1000),
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
    await jsm.consumers.add(EVENTS_STREAM, {
      durable_name: CONSUMER_NAME,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(60_000),
      max_ack_pending: 50_000,
      max_deliver: -1,
    });
  }
}
