import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeartbeatV1, latencyQuantile, LATENCY_BOUNDS_MS } from '@vigil/schema';
import { StageLatency } from './latency.js';

test('observations land in the bucket of their upper bound, and quantiles never undershoot', () => {
  const l = new StageLatency();
  for (const ms of [0.4, 1, 1.5, 48, 50, 51, 120, 7000]) l.observe('exec.read', ms);
  l.observe('exec.read', -0.2);
  const h = l.snapshot().stages['exec.read']!;
  assert.equal(h.count, 9);
  assert.equal(h.maxMs, 7000);
  const at = (bound: number) => h.buckets[LATENCY_BOUNDS_MS.indexOf(bound as (typeof LATENCY_BOUNDS_MS)[number])];
  assert.equal(at(1), 3, '-0.2 (as 0), 0.4 and 1 are at most 1 ms');
  assert.equal(at(2), 1);
  assert.equal(at(50), 2, '48 and 50');
  assert.equal(at(75), 1);
  assert.equal(at(150), 1);
  assert.equal(h.buckets[LATENCY_BOUNDS_MS.length], 1, 'past the last bound');
  // The 5th of 9 is 48 ms: reported as its bucket's bound, 50.
  assert.equal(latencyQuantile(h, 0.5), 50);
  assert.equal(latencyQuantile(h, 0.99), 7000, 'past the last bound: the largest value seen');
  assert.equal(
    latencyQuantile({ count: 1, sumMs: 3, maxMs: 3, buckets: h.buckets.map((_, i) => (i === 2 ? 1 : 0)) }, 0.5),
    3,
    'capped by the largest value seen',
  );
  assert.equal(latencyQuantile({ count: 0, sumMs: 0, maxMs: 0, buckets: [] }, 0.5), null);
});

test('a snapshot is a copy that fits the heartbeat contract', () => {
  const l = new StageLatency();
  l.observe('publish.acked', 3);
  const snap = l.snapshot();
  l.observe('publish.acked', 4);
  assert.equal(snap.stages['publish.acked']!.count, 1, 'later observations do not change an earlier snapshot');
  const hb = {
    v: 1,
    host: 'h',
    ts: '1',
    sensorVersion: '0',
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
    probes: [],
    latency: snap,
  };
  assert.equal(HeartbeatV1.safeParse(hb).success, true);
});
