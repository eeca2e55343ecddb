import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AlertV1 } from '@vigil/schema';
import { DetectionEngine } from '../../engine.js';
import { received } from './testing.js';

const heartbeat = received;

test('sensor.silent fires once per silence; a heartbeat from before the start gets the full delay', () => {
  let now = 100_000;
  const out: string[] = [];
  const e = new DetectionEngine({
    config: { expectedGpu: { exe: [], cgroup: [] }, sensorPids: () => new Set() },
    silentAfterMs: 10_000,
    now: () => now,
    onAlert: (a) => out.push(`${a.ruleId}@${a.host}`),
  });
  // b's last heartbeat is 50 s old when the control plane starts (read back from storage).
  e.tick([heartbeat('a', 99_000), heartbeat('b', 50_000)]);
  assert.deepEqual(out, [], 'b may still be starting: it has 10 s from the start like anyone');
  now = 109_000;
  e.tick([heartbeat('a', 108_000), heartbeat('b', 50_000)]);
  assert.deepEqual(out, []);
  now = 110_500;
  e.tick([heartbeat('a', 108_000), heartbeat('b', 50_000)]);
  e.tick([heartbeat('a', 108_000), heartbeat('b', 50_000)]);
  assert.deepEqual(out, ['sensor.silent@b']);
  now = 125_000;
  e.tick([heartbeat('a', 108_000), heartbeat('b', 50_000)]);
  assert.deepEqual(
    out,
    ['sensor.silent@b', 'sensor.silent@a'],
    'a live sensor that stops reporting is silent 10 s after its last heartbeat',
  );
});

test('silence is judged by when heartbeats arrive, not by the time they claim (a wrong or forged clock)', () => {
  let now = 100_000;
  const out: string[] = [];
  const e = new DetectionEngine({
    config: { expectedGpu: { exe: [], cgroup: [] }, sensorPids: () => new Set() },
    silentAfterMs: 10_000,
    now: () => now,
    onAlert: (a) => out.push(`${a.ruleId}@${a.host}`),
  });
  const YEAR = 365 * 86_400_000;
  // behind: a host clock a minute slow, heartbeats arriving every 5 s. ahead: one heartbeat claiming
  // next year, then nothing (a killed sensor, or a forged heartbeat before the kill).
  for (; now <= 130_000; now += 5_000)
    e.tick([heartbeat('behind', now, {}, now - 60_000), heartbeat('ahead', 100_000, {}, 100_000 + YEAR)]);
  assert.deepEqual(
    out,
    ['sensor.silent@ahead'],
    'the slow clock is alive; the one claiming next year has been silent for 30 s',
  );
});

test('a sensor stopping in order raises sensor.stopped once, and never sensor.silent', () => {
  let now = 100_000;
  const alerts: AlertV1[] = [];
  const e = new DetectionEngine({
    config: { expectedGpu: { exe: [], cgroup: [] }, sensorPids: () => new Set() },
    silentAfterMs: 10_000,
    now: () => now,
    onAlert: (a) => alerts.push(a),
  });
  // old stopped before this control plane started: history, not news. b starts and stops between
  // two ticks: news, though no tick saw it running.
  e.tick([heartbeat('a', 99_000), heartbeat('old', 20_000, { stopping: true })]);
  now = 101_000;
  e.tick([
    heartbeat('a', 100_500, { stopping: true }),
    heartbeat('old', 20_000, { stopping: true }),
    heartbeat('b', 100_800, { stopping: true }),
  ]);
  e.tick([heartbeat('a', 100_500, { stopping: true }), heartbeat('old', 20_000, { stopping: true })]);
  now = 200_000;
  e.tick([heartbeat('a', 100_500, { stopping: true }), heartbeat('old', 20_000, { stopping: true })]);
  assert.deepEqual(
    alerts.map((x) => `${x.ruleId}@${x.host}`),
    ['sensor.stopped@a', 'sensor.stopped@b'],
  );
  assert.equal(alerts[0]!.severity, 'medium');
  assert.match(alerts[0]!.reason, /stopped in order .* after 3 events published/);
  // Started again, then killed: silent as usual.
  e.tick([heartbeat('a', 200_000)]);
  now = 215_000;
  e.tick([heartbeat('a', 200_000)]);
  assert.deepEqual(
    alerts.map((x) => `${x.ruleId}@${x.host}`),
    ['sensor.stopped@a', 'sensor.stopped@b', 'sensor.silent@a'],
  );
});
