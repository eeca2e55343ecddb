import {
  EventBatchV1,
  EventV1,
  hostOfEventSubject,
  partitionOfEventSubject,
  partitionOfHost,
  MAX_BATCH_BYTES,
  MAX_EVENT_BYTES,
  MAX_JSON_DEPTH,
} from '@vigil/schema';
import { scanJson } from './json-scan.js';

/** Why a message, or one event of a batch, goes to the dead-letter stream (its subject's last token). */
export type RejectReason =
  | 'oversized'
  | 'too-deep'
  | 'not-json'
  | 'wrong-version'
  | 'schema'
  | 'host-mismatch'
  | 'partition-mismatch'
  | 'check-error';

/** What of a message is refused: its reason and the bytes to park, as they were sent. */
export interface Refused {
  reason: RejectReason;
  /** The whole message, or the bytes of the one event refused (the message's when they cannot be told apart). */
  data: Uint8Array;
  /** The refused event's place in its batch; absent when the whole message is refused. */
  index?: number;
}

/** A message, validated: its good events, and what of it goes to the dead-letter stream. */
export interface CheckedMessage {
  /** False when the whole message is refused. */
  good: boolean;
  events: EventV1[];
  bad: Refused[];
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * One message from the events stream (an EventBatchV1, or one bare EventV1) as JSON bytes, checked
 * without trusting any of it: refused whole when too large, nested too deep, not JSON, of another
 * version or shape, or from a host other than its subject's; a batch's events one by one otherwise
 * (the good ones are kept). Never throws: what it did not foresee is refused whole as `check-error`.
 */
export function checkMessage(subject: string, data: Uint8Array, partitions?: number): CheckedMessage {
  try {
    // A replica's partition (the subject's, from the server's mapping) must be its host's: a host that
    // publishes the partition token itself would otherwise split its events between two replicas.
    const p = partitions === undefined ? null : partitionOfEventSubject(subject);
    if (p !== null && p !== partitionOfHost(hostOfEventSubject(subject)!, partitions!))
      return refuse('partition-mismatch', data);
    return check(subject, data);
  } catch {
    return refuse('check-error', data);
  }
}

const refuse = (reason: RejectReason, data: Uint8Array): CheckedMessage => ({
  good: false,
  events: [],
  bad: [{ reason, data }],
});

function check(subject: string, data: Uint8Array): CheckedMessage {
  if (data.byteLength > MAX_BATCH_BYTES) return refuse('oversized', data);
  if (scanJson(data, MAX_JSON_DEPTH).tooDeep) return refuse('too-deep', data);
  let raw: unknown;
  try {
    raw = JSON.parse(decoder.decode(data));
  } catch {
    return refuse('not-json', data);
  }
  const v = (raw as { v?: unknown } | null)?.v;
  if (v !== undefined && v !== 1) return refuse('wrong-version', data);
  const subjectHost = hostOfEventSubject(subject);
  if (Array.isArray((raw as { events?: unknown } | null)?.events)) {
    const batch = EventBatchV1.safeParse(raw);
    if (!batch.success) return refuse('schema', data);
    if (batch.data.host !== subjectHost) return refuse('host-mismatch', data);
    const out: CheckedMessage = { good: true, events: [], bad: [] };
    const refused: { reason: RejectReason; index: number }[] = [];
    batch.data.events.forEach((item, index) => {
      const parsed = EventV1.safeParse(item);
      if (!parsed.success) refused.push({ reason: 'schema', index });
      else if (parsed.data.host !== subjectHost) refused.push({ reason: 'host-mismatch', index });
      else out.events.push(parsed.data);
    });
    if (refused.length > 0) {
      // Located only now: a batch with nothing to refuse (the sensor's) pays for no second pass.
      const elements = scanJson(data, MAX_JSON_DEPTH, 'events').elements;
      const located = elements?.length === batch.data.events.length ? elements : null;
      for (const { reason, index } of refused) {
        const at = located?.[index];
        out.bad.push({ reason, index, data: at ? data.subarray(at[0], at[1]) : data });
      }
    }
    return out;
  }
  if (data.byteLength > MAX_EVENT_BYTES) return refuse('oversized', data);
  const parsed = EventV1.safeParse(raw);
  if (!parsed.success) return refuse('schema', data);
  if (subjectHost !== parsed.data.host) return refuse('host-mismatch', data);
  return { good: true, events: [parsed.data], bad: [] };
}
