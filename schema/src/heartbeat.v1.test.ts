import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeartbeatV1, MAX_PROBES } from './heartbeat.v1.js';

const beat = (probes: unknown[]) => ({
  v: 1,
  host: 'h',
  ts: '1',
  sensorVersion: 't',
  startedTs: '1',
  counters: {
    recordsRead: 0,
    eventsPublished: 0,
    eventsDropped: 0,
    lostEvents: 0,
    rejects: {},
    queueDepth: 0,
    processCacheSize: 0,
  },
  probes,
});
const probe = (name: string) => ({ name, state: 'running', restarts: 0, lostEvents: 0, lastError: null });

test('a heartbeat names a bounded number of probes, each by a bounded name (the control plane keeps state per probe)', () => {
  assert.ok(HeartbeatV1.safeParse(beat(['exec', 'proc', 'connect', 'gpu'].map(probe))).success);
  assert.ok(HeartbeatV1.safeParse(beat(Array.from({ length: MAX_PROBES }, (_, i) => probe(`p${i}`)))).success);
  assert.ok(!HeartbeatV1.safeParse(beat(Array.from({ length: MAX_PROBES + 1 }, (_, i) => probe(`p${i}`)))).success);
  assert.ok(!HeartbeatV1.safeParse(beat([probe('x'.repeat(65))])).success);
  assert.ok(!HeartbeatV1.safeParse(beat([probe('')])).success);
});
