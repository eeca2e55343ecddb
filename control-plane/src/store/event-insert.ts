import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import type { EventV1 } from '@vigil/schema';

/**
 * A lone surrogate as JSON.stringify writes it (`\udXXX`): ClickHouse's JSON reader refuses such a
 * document whole, which would leave every column derived from it empty. An escaped backslash before
 * `ud8…` matches too; that only costs the slower path below.
 */
const LONE_SURROGATE = /\\ud[89a-f][0-9a-f]{2}/;

const wellFormed = (_key: string, v: unknown): unknown =>
  typeof v === 'string' ? (v as string & { toWellFormed(): string }).toWellFormed() : v;

/** An event as the `event` column keeps it: one line of JSON (JSON.stringify writes no raw newline or tab). */
export function eventLine(ev: EventV1): string {
  const line = JSON.stringify(ev);
  // Lone surrogates (only a hostile or broken producer sends them) become U+FFFD in storage.
  return LONE_SURROGATE.test(line) ? JSON.stringify(ev, wellFormed) : line;
}

/**
 * Stores events: only their JSON, one per line, and the table derives every other column from it
 * (migrations 0004 and 0005). Building those columns here cost the control plane's one thread about
 * 6 µs per event, the event serialized twice, once escaped inside the other (bench/insert.mjs).
 */
export async function insertEvents(ch: ClickHouseClient, events: EventV1[]): Promise<void> {
  if (events.length === 0) return;
  const body = Buffer.from(events.map(eventLine).join('\n'));
  // TabSeparatedRaw: each line is the value as it is, no escapes to undo.
  await ch.insert({ table: 'events', columns: ['event'], values: Readable.from([body], { objectMode: false }), format: 'TabSeparatedRaw' });
}
