import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import type { EventV1 } from '@vigil/schema';
import { wellFormedJson } from './well-formed-json.js';

/** An insert the engine took that is not kept (its data directory gone): its messages are not acked. */
export class StoredNotKeptError extends Error {
  override name = 'StoredNotKeptError';
}

/** An event as the `event` column keeps it: one line of JSON (JSON.stringify writes no raw newline or tab). */
export const eventLine = (ev: EventV1): string => wellFormedJson(ev);

/**
 * Stores events: only their JSON, one per line, and the table derives every other column from it
 * (migrations 0004 and 0005). Building those columns here cost the control plane's one thread about
 * 6 µs per event, the event serialized twice, once escaped inside the other (bench/insert.mjs).
 */
export async function insertEvents(ch: ClickHouseClient, events: EventV1[]): Promise<void> {
  if (events.length === 0) return;
  const body = Buffer.from(events.map(eventLine).join('\n'));
  // TabSeparatedRaw: each line is the value as it is, no escapes to undo.
  await ch.insert({
    table: 'events',
    columns: ['event'],
    values: Readable.from([body], { objectMode: false }),
    format: 'TabSeparatedRaw',
  });
}
