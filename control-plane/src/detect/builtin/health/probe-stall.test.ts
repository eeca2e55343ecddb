import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AlertV1 } from '@vigil/schema';
import { DetectionEngine } from '../../engine.js';
import { received } from './testing.js';

const S = 1_000_000_000n;

function setup() {
  let now = 100_000;
  const alerts: AlertV1[] = [];
  const engine = new DetectionEngine({
    config: { expectedGpu: { exe: [], cgroup: [] }, sensorPids: () => new Set() },
    throttleMs: 0,
    now: () => now,
    onAlert: (a) => alerts.push(a),
  });
  const hb = (probes: object[], receivedMs = now) => received('h', receivedMs, { probes }, now);
  const probe = (name: string, o: object = {}) => ({
    name,
    state: 'running',
    restarts: 0,
    lostEvents: 0,
    lastError: null,
    pid: 50,
    ...o,
  });
  return {
    engine,
    alerts,
    hb,
    probe,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

test('sensor.probe-stalled: a stalled bpftrace raises one alert naming its probes, blind since its last flush', () => {
  const { engine, alerts, hb, probe, advance } = setup();
  engine.tick([hb(['exec', 'proc'].map((n) => probe(n)))]);
  advance(5000);
  const stalled = {
    state: 'stalled',
    stalls: 1,
    blindFromTs: String(100n * S),
    lastFlushTs: String(100n * S),
    lastError: 'output stalled: nothing read for 3 s (bpftrace stopped by a signal)',
  };
  engine.tick([hb(['exec', 'proc'].map((n) => probe(n, stalled)))]);
  advance(5000);
  engine.tick([hb(['exec', 'proc'].map((n) => probe(n, stalled)))]);
  assert.deepEqual(
    alerts.map((a) => [a.ruleId, a.severity, a.ts]),
    [['sensor.probe-stalled', 'high', String(100n * S)]],
    'once per stall',
  );
  assert.equal(
    alerts[0]!.reason,
    `probe exec (with proc: one bpftrace process) on h stalled: no output since ${new Date(100_000).toISOString()} (1 stalls so far); output stalled: nothing read for 3 s (bpftrace stopped by a signal)`,
  );
  // Resumed, stalled again and resumed between two heartbeats: the count says so.
  advance(5000);
  engine.tick([
    hb(['exec', 'proc'].map((n) => probe(n, { stalls: 2, blindFromTs: String(108n * S), lastError: null }))),
  ]);
  assert.equal(alerts.length, 2);
  assert.match(
    alerts[1]!.reason,
    /^probe exec \(with proc: one bpftrace process\) on h stalled since .* and resumed \(2 stalls so far\)$/,
  );
});

test('sensor.probe-stalled: a probe first seen stalled is told; stalls from before are history', () => {
  const { engine, alerts, hb, probe, advance } = setup();
  advance(1000);
  engine.tick([hb([probe('exec', { state: 'stalled', stalls: 1, blindFromTs: String(99n * S) })], 50_000)]);
  assert.equal(alerts.length, 0, 'a heartbeat received before this control plane started is history');
  engine.tick([hb([probe('connect', { stalls: 4 })])]);
  assert.equal(alerts.length, 0, 'stalls that resumed before the first heartbeat seen');
  engine.tick([hb([probe('gpu', { state: 'stalled', stalls: 1, blindFromTs: String(100n * S) })])]);
  assert.equal(alerts.length, 1, 'still stalled when first seen');
  assert.match(alerts[0]!.reason, /^probe gpu on h stalled: no output since/);
});

test('sensor.probe-restart: the blind gap runs from the last flush before a freeze, not from the kill', () => {
  const { engine, alerts, hb, probe, advance } = setup();
  engine.tick([hb([probe('exec')])]);
  advance(30_000);
  // Frozen at 100 s (its last flush), killed at 119 s, running again at 122 s.
  engine.tick([
    hb([
      probe('exec', {
        restarts: 1,
        stalls: 1,
        pid: 51,
        blindFromTs: String(100n * S),
        lastExitTs: String(119n * S),
        lastRestartTs: String(122n * S),
        lastError: 'bpftrace exited (code null, signal SIGKILL)',
      }),
    ]),
  ]);
  const restart = alerts.find((a) => a.ruleId === 'sensor.probe-restart');
  assert.match(restart?.reason ?? '', /blind for 22\.0 s/);
});
