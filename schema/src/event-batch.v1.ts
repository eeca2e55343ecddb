import { z } from 'zod/v4';
import { HostId } from './common.js';
import { EventKind, type EventV1 } from './event.v1.js';

/**
 * One JetStream message carrying several events of one host and one kind, on
 * `vigil.events.<host>.<kind>`. Batching divides the per-message cost (publish, ack, dedup) by the
 * batch size. Nats-Msg-Id is `batchId(events)`: a retried batch is the same message, so the stream
 * drops it; storage also folds duplicate event ids, so a batch formed differently after a restart
 * (spool replay) cannot duplicate rows either.
 *
 * The control plane also accepts a bare EventV1 as a message (a batch of one), for simple publishers.
 */
export const EventBatchV1 = z.object({
  v: z.literal(1),
  host: HostId,
  kind: EventKind,
  events: z.array(z.unknown()).min(1).max(10_000),
});
export type EventBatchV1 = Omit<z.infer<typeof EventBatchV1>, 'events'> & { events: EventV1[] };

/** Largest batch message the sensor publishes (NATS' default max_payload is 1 MiB). */
export const MAX_BATCH_BYTES = 1000 * 1024;
/** Events per batch message at most. */
export const MAX_BATCH_EVENTS = 1000;

/** Stable message id of a batch: first event id and count. A retry re-sends the same events. */
export const batchId = (events: readonly { id: string }[]): string => `${events[0]!.id}+${events.length}`;

/** Message header with the number of events in a batch: lets a consumer size its inserts before parsing. */
export const EVENTS_HEADER = 'Vigil-Events';
