/**
 * Heartbeats as taken, stored and read back after a restart, on the real engine (chDB): the newest is
 * the last received, whatever time a sensor's clock (or a forger) put in it; copies and hosts past the
 * bound are refused and counted; a restart reads back recent hosts only, within the bound.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { heartbeatSubject, type HeartbeatV1 } from '@vigil/schema';
import { testStore } from '../store/test-store.js';
import { insertRows } from '../store/row-insert.js';
import { HeartbeatStore } from './heartbeat-store.js';
import { HeartbeatTracker, isNewer, sensorCpuCores } from './heartbeats.js';

const store = testStore('vigil-heartbeats-');
const log = pino({ level: 'silent' });
const tracker = (maxHosts?: number) =>
  new HeartbeatTracker(
    new HeartbeatStore(store().heartbeats, store().reader, log),
    log,
    maxHosts !== undefined ? { maxHosts } : {},
  );
const enc = new TextEncoder();
const send = (t: HeartbeatTracker, hb: HeartbeatV1, receivedMs?: number) =>
  t.take(heartbeatSubject(hb.host), enc.encode(JSON.stringify(hb)), receivedMs);

const beat = (host: string, ts: string, eventsPublished: number, run: Partial<HeartbeatV1> = {}): HeartbeatV1 => ({
  v: 1,
  host,
  ts,
  sensorVersion: 't',
  startedTs: '1',
  counters: {
    recordsRead: 0,
    eventsPublished,
    eventsDropped: 0,
    lostEvents: 0,
    rejects: {},
    queueDepth: 0,
    processCacheSize: 0,
  },
  probes: [],
  ...run,
});
const YEAR_NS = 365n * 86_400_000_000_000n;
const nsOf = (ms: number) => (BigInt(ms) * 1_000_000n).toString();

test('after a restart the newest heartbeat is the last received, not the latest claimed; an old claimed time is kept', async () => {
  const t0 = Date.now() - 10_000;
  const t = tracker();
  // forged: one heartbeat claiming next year, then the sensor's honest ones (a new run).
  t.record(beat('forged', (BigInt(nsOf(t0)) + YEAR_NS).toString(), 1), t0);
  t.record(beat('forged', nsOf(t0 + 5000), 2, { startedTs: '2' }), t0 + 5000);
  // epoch: a host whose clock says 1970 (outside the week the table keeps, by the claimed time).
  t.record(beat('epoch', '0', 7), t0);
  await t.stop();
  assert.equal(t.latest.get('forged')?.heartbeat.counters.eventsPublished, 2);

  const restarted = tracker();
  await restarted.load();
  const forged = restarted.latest.get('forged');
  assert.equal(forged?.heartbeat.counters.eventsPublished, 2, 'the last received');
  assert.equal(forged?.receivedMs, t0 + 5000);
  const epoch = restarted.latest.get('epoch');
  assert.equal(epoch?.heartbeat.ts, '0', 'stored, not dropped by the TTL as it was written');
  assert.equal(epoch?.receivedMs, t0);
});

test('heartbeats are stored in batches, not one insert each', async () => {
  const t = tracker();
  const before = { ...t.storage };
  for (let i = 0; i < 300; i++)
    assert.equal(send(t, beat(`batch-${i % 30}`, nsOf(Date.now()), i, { startedTs: '5', seq: i })), null);
  await t.stop();
  const { stored, inserts } = t.storage;
  assert.equal(stored - before.stored, 300);
  assert.ok(inserts - before.inserts <= 2, `${inserts - before.inserts} inserts for 300 heartbeats`);
});

test('a re-published copy of a heartbeat is refused as replayed: the killed sensor stays silent, and not stopped', async () => {
  const t = tracker();
  const run = { startedTs: nsOf(Date.now() - 60_000), sensorPid: 4242 };
  const h1 = beat('victim', nsOf(Date.now() - 10_000), 1, { ...run, seq: 1 });
  const h2 = beat('victim', nsOf(Date.now() - 5000), 2, { ...run, seq: 2 });
  assert.equal(send(t, h1, 1000), null);
  assert.equal(send(t, h2, 2000), null);
  // The same bytes again, later: what a workload that killed the sensor would re-publish.
  assert.equal(send(t, h2, 60_000), 'replayed');
  assert.equal(send(t, h1, 60_000), 'replayed');
  // An earlier run's stopping heartbeat (captured when it last stopped in order).
  assert.equal(
    send(
      t,
      beat('victim', nsOf(Date.now() - 120_000), 0, {
        startedTs: nsOf(Date.now() - 200_000),
        sensorPid: 99,
        seq: 70,
        stopping: true,
      }),
      60_000,
    ),
    'replayed',
  );
  // The same run without its numbers (falling back to a forged ts) is no way round it.
  assert.equal(send(t, beat('victim', nsOf(Date.now() + 3_600_000), 3, run), 60_000), 'replayed');
  assert.equal(t.latest.get('victim')?.receivedMs, 2000, 'judged silent from the last real heartbeat');
  assert.equal(t.latest.get('victim')?.heartbeat.stopping, undefined);
  assert.equal(t.rejects.replayed, 4);
  // The sensor started again: a later run is taken.
  assert.equal(
    send(
      t,
      beat('victim', nsOf(Date.now()), 0, { startedTs: nsOf(Date.now() - 1000), sensorPid: 5000, seq: 0 }),
      70_000,
    ),
    null,
  );
  await t.stop();
});

test('isNewer: by number within a run, by time for a sensor that does not number, by start across runs', () => {
  const run = { startedTs: '100', sensorPid: 7 };
  assert.equal(
    isNewer(beat('h', '10', 0, { ...run, seq: 1 }), beat('h', '5', 0, { ...run, seq: 2 })),
    true,
    'the number decides, not a clock stepped back',
  );
  assert.equal(isNewer(beat('h', '10', 0, { ...run, seq: 2 }), beat('h', '20', 0, { ...run, seq: 2 })), false);
  assert.equal(isNewer(beat('h', '10', 0, run), beat('h', '11', 0, run)), true);
  assert.equal(isNewer(beat('h', '10', 0, run), beat('h', '10', 0, run)), false);
  assert.equal(isNewer(beat('h', '10', 0, run), beat('h', '1', 0, { startedTs: '101', sensorPid: 8 })), true);
  assert.equal(isNewer(beat('h', '10', 0, run), beat('h', '99', 0, { startedTs: '99', sensorPid: 8 })), false);
});

test('hosts past the bound are refused and counted; a known host keeps reporting', async () => {
  const t = tracker(3);
  // In the past, so that what this stores is not what a later test reads back as the most recent.
  const now = Date.now() - 26 * 3_600_000;
  for (let i = 0; i < 10; i++) send(t, beat(`flood-${i}`, nsOf(now), 0, { seq: 0 }), now);
  assert.deepEqual([...t.latest.keys()], ['flood-0', 'flood-1', 'flood-2']);
  assert.equal(t.rejects['too-many-hosts'], 7);
  // A day later flood-1 and flood-2 still report; flood-0 has not since: it makes room for another.
  const later = now + 25 * 3_600_000;
  assert.equal(send(t, beat('flood-1', nsOf(later), 1, { seq: 1 }), later - 1000), null);
  assert.equal(send(t, beat('flood-2', nsOf(later), 1, { seq: 1 }), later - 1000), null);
  assert.equal(send(t, beat('new-host', nsOf(later), 0), later), null);
  assert.deepEqual([...t.latest.keys()], ['flood-1', 'flood-2', 'new-host']);
  assert.equal(send(t, beat('one-more', nsOf(later), 0), later), 'too-many-hosts');
  await t.stop();
});

test('malformed heartbeats are refused with a reason, whatever their bytes', () => {
  const t = tracker();
  const ok = beat('m1', nsOf(Date.now()), 0);
  assert.equal(t.take(heartbeatSubject('m1'), enc.encode('{nope')), 'not-json');
  assert.equal(
    t.take(heartbeatSubject('m1'), enc.encode(`{"v":1,"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`)),
    'oversized',
  );
  assert.equal(
    t.take(heartbeatSubject('m1'), enc.encode(`{"v":1,"x":${'['.repeat(1000)}${']'.repeat(1000)}}`)),
    'too-deep',
  );
  assert.equal(t.take(heartbeatSubject('m1'), enc.encode(JSON.stringify({ ...ok, counters: {} }))), 'schema');
  assert.equal(t.take(heartbeatSubject('intruder'), enc.encode(JSON.stringify(ok))), 'host-mismatch');
  const many = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`reason-${i}`, i]));
  assert.equal(
    t.take(heartbeatSubject('m1'), enc.encode(JSON.stringify({ ...ok, counters: { ...ok.counters, rejects: many } }))),
    'oversized',
  );
  assert.equal(t.latest.size, 0);
});

test('a restart reads back recent hosts only, at most the bound, and not as silent anew where sensor.silent was raised since', async () => {
  const now = Date.now();
  const t = tracker();
  t.record(beat('old-host', nsOf(now - 3 * 86_400_000), 0), now - 3 * 86_400_000);
  // Received after every other heartbeat of this file's store: these are the most recent.
  for (let i = 0; i < 5; i++) t.record(beat(`recent-${i}`, nsOf(now + i), 0), now + i);
  await t.stop();
  await insertRows(store().writer, 'alerts', [
    {
      id: 'a1',
      host: 'recent-4',
      ts_ns: nsOf(now + 1000),
      last_ts_ns: nsOf(now + 1000),
      rule_id: 'sensor.silent',
      severity: 'critical',
      severity_n: 4,
      source: 'builtin',
      title: 't',
      reason: 'r',
      pid: 0,
      comm: '',
      exe: '',
      count: 1,
      alert: '{}',
    },
  ]);
  const restarted = tracker(3);
  await restarted.load();
  assert.deepEqual([...restarted.latest.keys()].sort(), ['recent-2', 'recent-3', 'recent-4'], 'the three most recent');
  assert.deepEqual(
    [...restarted.forDetections()].map((r) => r.heartbeat.host).sort(),
    ['recent-2', 'recent-3'],
    "recent-4's silence was told already",
  );
  restarted.record(beat('recent-4', nsOf(Date.now()), 1, { startedTs: '9' }));
  assert.ok(
    [...restarted.forDetections()].some((r) => r.heartbeat.host === 'recent-4'),
    'heard from again: judged again',
  );
  await restarted.stop();
  const unbounded = tracker();
  await unbounded.load();
  assert.ok(unbounded.latest.has('recent-0'));
  assert.equal(unbounded.latest.has('old-host'), false, 'unheard of for three days: its silence was told then');
});

test("a sensor's CPU between two heartbeats of one run, in cores, by its own clock", () => {
  const at = (
    tsSeconds: number,
    processCpuSeconds: number,
    probeCpuSeconds: number,
    run = { startedTs: '1', sensorPid: 42 },
  ): HeartbeatV1 => ({
    ...beat('h', (BigInt(tsSeconds) * 1_000_000_000n).toString(), 0),
    ...run,
    footprint: {
      processRssBytes: 1,
      probeRssBytes: 1,
      compilerRssReleasedBytes: 0,
      processCpuSeconds,
      probeCpuSeconds,
    },
  });
  assert.equal(sensorCpuCores(at(100, 1, 0.5), at(105, 1.3, 0.7)), 0.1);
  assert.equal(sensorCpuCores(undefined, at(105, 1.3, 0.7)), undefined, 'no earlier heartbeat');
  assert.equal(
    sensorCpuCores(at(100, 1, 0.5), at(105, 0.1, 0.1, { startedTs: '2', sensorPid: 42 })),
    undefined,
    'a restarted sensor starts from zero',
  );
  assert.equal(
    sensorCpuCores(at(100, 1, 0.5), at(105, 1.3, 0.7, { startedTs: '1', sensorPid: 43 })),
    undefined,
    'another process',
  );
  assert.equal(sensorCpuCores(at(100, 1, 0.5), at(100, 1.3, 0.7)), undefined, 'no time between them');
  assert.equal(sensorCpuCores(at(100, 1, 0.5), at(105, 0.5, 0.5)), undefined, 'counts that fell');
  assert.equal(sensorCpuCores(beat('h', '100000000000', 0), at(105, 1.3, 0.7)), undefined, 'a heartbeat without CPU');
});
