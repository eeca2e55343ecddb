/**
 * Heartbeats as stored and read back after a restart, on the real engine (chDB): the newest is the
 * last received, whatever time a sensor's clock (or a forger) put in it, and no claimed time is
 * dropped as it is written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { HeartbeatV1 } from '@vigil/schema';
import { testStore } from '../store/test-store.js';
import { HeartbeatTracker, sensorCpuCores } from './heartbeats.js';

const store = testStore('vigil-heartbeats-');
const log = pino({ level: 'silent' });

const beat = (host: string, ts: string, eventsPublished: number): HeartbeatV1 => ({
  v: 1, host, ts, sensorVersion: 't', startedTs: '1',
  counters: { recordsRead: 0, eventsPublished, eventsDropped: 0, lostEvents: 0, rejects: {}, queueDepth: 0, processCacheSize: 0 },
  probes: [],
});
const YEAR_NS = 365n * 86_400_000_000_000n;

test('after a restart the newest heartbeat is the last received, not the latest claimed; an old claimed time is kept', async () => {
  const t0 = Date.now() - 10_000;
  const nsOf = (ms: number) => (BigInt(ms) * 1_000_000n).toString();
  const tracker = new HeartbeatTracker(store().writer, store().reader, log);
  // forged: one heartbeat claiming next year, then the sensor's honest ones.
  await tracker.record(beat('forged', (BigInt(nsOf(t0)) + YEAR_NS).toString(), 1), t0);
  await tracker.record(beat('forged', nsOf(t0 + 5000), 2), t0 + 5000);
  // epoch: a host whose clock says 1970 (outside the week the table keeps, by the claimed time).
  await tracker.record(beat('epoch', '0', 7), t0);
  assert.equal(tracker.latest.get('forged')?.heartbeat.counters.eventsPublished, 2);

  const restarted = new HeartbeatTracker(store().writer, store().reader, log);
  await restarted.load();
  const forged = restarted.latest.get('forged');
  assert.equal(forged?.heartbeat.counters.eventsPublished, 2, 'the last received');
  assert.equal(forged?.receivedMs, t0 + 5000);
  const epoch = restarted.latest.get('epoch');
  assert.equal(epoch?.heartbeat.ts, '0', 'stored, not dropped by the TTL as it was written');
  assert.equal(epoch?.receivedMs, t0);
});

test('a sensor\'s CPU between two heartbeats of one run, in cores, by its own clock', () => {
  const at = (tsSeconds: number, processCpuSeconds: number, probeCpuSeconds: number, run = { startedTs: '1', sensorPid: 42 }): HeartbeatV1 => ({
    ...beat('h', (BigInt(tsSeconds) * 1_000_000_000n).toString(), 0), ...run,
    footprint: { processRssBytes: 1, probeRssBytes: 1, compilerRssReleasedBytes: 0, processCpuSeconds, probeCpuSeconds },
  });
  assert.equal(sensorCpuCores(at(100, 1, 0.5), at(105, 1.3, 0.7)), 0.1);
  assert.equal(sensorCpuCores(undefined, at(105, 1.3, 0.7)), undefined, 'no earlier heartbeat');
  assert.equal(sensorCpuCores(at(100, 1, 0.5), at(105, 0.1, 0.1, { startedTs: '2', sensorPid: 42 })), undefined, 'a restarted sensor starts from zero');
  assert.equal(sensorCpuCores(at(100, 1, 0.5), at(105, 1.3, 0.7, { startedTs: '1', sensorPid: 43 })), undefined, 'another process');
  assert.equal(sensorCpuCores(at(100, 1, 0.5), at(100, 1.3, 0.7)), undefined, 'no time between them');
  assert.equal(sensorCpuCores(at(100, 1, 0.5), at(105, 0.5, 0.5)), undefined, 'counts that fell');
  assert.equal(sensorCpuCores(beat('h', '100000000000', 0), at(105, 1.3, 0.7)), undefined, 'a heartbeat without CPU');
});
