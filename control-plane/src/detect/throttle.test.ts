import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AlertV1 } from '@vigil/schema';
import { DetectionEngine } from './engine.js';
import { alwaysFires, asLoaded, builtinEngine, exec, TEST_CONFIG } from './testing.js';
import { AlertThrottle } from './throttle.js';

test('open throttle windows are bounded: past 20,000 the oldest close early, their repeat counts sent first', () => {
  const alerts: AlertV1[] = [];
  const engine = new DetectionEngine({
    config: TEST_CONFIG,
    onAlert: (a) => alerts.push({ ...a }),
    throttleMs: 60_000,
    now: () => 0,
  });
  engine.setDetections([asLoaded(alwaysFires('noisy'))]);
  engine.process([exec(['x'], { pid: 1 }), exec(['x'], { pid: 1 }), exec(['x'], { pid: 1 })]);
  assert.deepEqual(
    alerts.map((a) => a.count),
    [1],
    'repeats folded into the open window',
  );
  const first = alerts[0]!.id;
  // 20,000 more processes of one host within the window (a hostile publisher numbering pids).
  for (let pid = 2; pid <= 20_001; pid++) engine.process([exec(['x'], { pid })]);
  const update = alerts.find((a) => a.id === first && a.count === 3);
  assert.ok(update, "pid 1's window closed early, its count of 3 sent");
  engine.process([exec(['x'], { pid: 1 })]);
  const again = alerts.at(-1)!;
  assert.equal(again.proc?.pid, 1);
  assert.notEqual(again.id, first, 'a repeat after its window closed raises a new alert');
});

test('a repeat count pending when its window ends is sent even when the next event comes before the tick', () => {
  let now = 0;
  const alerts: AlertV1[] = [];
  const engine = new DetectionEngine({
    config: TEST_CONFIG,
    onAlert: (a) => alerts.push({ ...a }),
    throttleMs: 1000,
    now: () => now,
  });
  engine.setDetections([asLoaded(alwaysFires('noisy'))]);
  engine.process([exec(['x'], { pid: 1 }), exec(['x'], { pid: 1 })]);
  now = 1500;
  engine.process([exec(['x'], { pid: 1 })]);
  assert.deepEqual(
    alerts.map((a) => [a.id === alerts[0]!.id, a.count]),
    [
      [true, 1],
      [true, 2],
      [false, 1],
    ],
  );
});

test('the throttle counts the windows it closes early, and keeps at most its bound open', () => {
  const sent: [string, number][] = [];
  const throttle = new AlertThrottle({
    windowMs: 60_000,
    maxOpen: 16,
    now: () => 0,
    emit: (a) => sent.push([a.reason, a.count]),
  });
  const alert = (key: string): AlertV1 => ({
    id: key,
    v: 1,
    ruleId: 'r',
    title: 'r',
    severity: 'low',
    mitre: [],
    source: 'builtin',
    author: null,
    ts: '1',
    lastTs: '1',
    host: 'h',
    proc: null,
    evidence: [],
    reason: key,
    count: 1,
  });
  for (let i = 0; i < 16; i++) throttle.offer(`k${i}`, '1', [], () => alert(`k${i}`));
  throttle.offer('k0', '2', ['e'], () => assert.fail('a repeat in an open window builds no alert'));
  assert.deepEqual(throttle.stats, { open: 16, closedEarly: 0 });
  throttle.offer('k16', '1', [], () => alert('k16'));
  assert.deepEqual(throttle.stats, { open: 15, closedEarly: 2 }, 'the oldest eighth closed');
  assert.deepEqual(
    sent.slice(16),
    [
      ['k0', 2],
      ['k16', 1],
    ],
    "k0's repeat went out as it closed; k1 had none to send",
  );
});

test('repeats of (rule, host, process) update one alert with a count; other processes get their own', () => {
  let now = 0;
  const alerts: { id: string; count: number }[] = [];
  const e2 = new DetectionEngine({
    config: { expectedGpu: { exe: [], cgroup: [] }, sensorPids: () => new Set() },
    throttleMs: 1000,
    now: () => now,
    onAlert: (a) => alerts.push({ id: a.id, count: a.count }),
  });
  e2.setDetections(builtinEngine().engine.list());
  for (let i = 0; i < 5; i++) e2.process([exec(['xmrig'], { pid: 1 })]);
  e2.process([exec(['xmrig'], { pid: 2 })]);
  assert.equal(alerts.length, 2);
  now = 2000;
  e2.tick();
  assert.equal(alerts.length, 3);
  assert.equal(alerts[2]!.id, alerts[0]!.id, 'the update carries the same alert id');
  assert.equal(alerts[2]!.count, 5);
});
