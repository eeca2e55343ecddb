import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { EventV1 } from '@vigil/schema';
import { storedAtClaimedTime } from './claimed-time.js';
import { insertEvents } from './event-insert.js';
import { applyRetention, retentionOf } from './retention.js';
import { testStore } from './test-store.js';

const store = testStore('vigil-retention-');
const log = pino({ level: 'silent' });
const DAY_NS = 86_400_000_000_000n;

/** A real exec event (recorded on an H100) claiming `daysAgo` days back, with its own id. */
const exec = EventV1.parse(
  JSON.parse(
    readFileSync(
      fileURLToPath(new URL('../../../test/fixtures/sensor-h100.events.ndjson', import.meta.url)),
      'utf8',
    ).split('\n')[0]!,
  ),
);
const claiming = (id: string, daysAgo: number): EventV1 => ({
  ...exec,
  id,
  ts: (BigInt(Date.now()) * 1_000_000n - BigInt(daysAgo) * DAY_NS).toString(),
});

const storedTs = async (): Promise<Record<string, number>> => {
  const rs = await store().reader.query({
    query: 'SELECT id, toUnixTimestamp(ts) AS s FROM events',
    format: 'JSONEachRow',
  });
  return Object.fromEntries((await rs.json<{ id: string; s: number }>()).map((r) => [r.id, Number(r.s)]));
};

test('the claim window is the TTL less a day, within what one insert may touch', () => {
  assert.deepEqual(retentionOf(undefined), {
    events: { ttlSeconds: 30 * 86_400, claimSeconds: 29 * 86_400 },
    alerts: { ttlSeconds: 180 * 86_400, claimSeconds: 179 * 86_400 },
  });
  const r = retentionOf({ events: '7d', alerts: '2w' });
  assert.deepEqual(r.events, { ttlSeconds: 7 * 86_400, claimSeconds: 6 * 86_400 });
  assert.deepEqual(r.alerts, { ttlSeconds: 14 * 86_400, claimSeconds: 13 * 86_400 });
  assert.deepEqual(retentionOf({ events: '12h' }).events, { ttlSeconds: 43_200, claimSeconds: 21_600 });
  assert.equal(
    retentionOf({ events: '365d' }).events.claimSeconds,
    29 * 86_400,
    'daily partitions: 29 days back at most',
  );
});

test('retention: 7d drops what is older, stores older claims at the insert time, and is applied once', async () => {
  const ch = store();
  assert.deepEqual(await applyRetention(ch.writer, retentionOf(undefined), log), [], 'the migrations already say so');
  await insertEvents(ch.writer, [claiming('ten-days', 10), claiming('two-days', 2)]);
  assert.deepEqual(Object.keys(await storedTs()).sort(), ['ten-days', 'two-days']);

  const week = retentionOf({ events: '7d' });
  assert.deepEqual(await applyRetention(ch.writer, week, log), ['events']);
  assert.deepEqual(await applyRetention(ch.writer, week, log), [], 'unchanged: nothing to do');
  // The TTL is applied as parts merge; a merge now applies it at once.
  await ch.writer.command({ query: 'OPTIMIZE TABLE events FINAL' });
  assert.deepEqual(Object.keys(await storedTs()), ['two-days'], 'the ten-day-old event is past the TTL');

  const eight = claiming('eight-days', 8);
  await insertEvents(ch.writer, [eight]);
  const nowS = Date.now() / 1000;
  assert.ok(Math.abs((await storedTs())['eight-days']! - nowS) < 120, 'stored at the time of the insert');
  assert.equal(storedAtClaimedTime(eight.ts, week.events.claimSeconds / 86_400), false, 'and counted as retimed');

  assert.deepEqual(await applyRetention(ch.writer, retentionOf(undefined), log), ['events'], 'back to the default');
});
