import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AlertV1, BlindIntervalV1 } from '@vigil/schema';
import { DetectionEngine } from '../../engine.js';
import { received } from './testing.js';

const S = 1_000_000_000n;
const ns = (s: number) => String(BigInt(s) * S);

/** An engine with the default alert throttle (a minute), fed heartbeats of one host. */
function setup() {
  let now = 100_000;
  const alerts: AlertV1[] = [];
  const engine = new DetectionEngine({
    config: { expectedGpu: { exe: [], cgroup: [] }, sensorPids: () => new Set() },
    now: () => now,
    onAlert: (a) => alerts.push(a),
  });
  const beat = (probes: object[]) => engine.tick([received('h', now, { probes })]);
  const exec = (o: object) => ({
    name: 'exec',
    state: 'running',
    restarts: 0,
    lostEvents: 0,
    lastError: null,
    pid: 50,
    ...o,
  });
  const raised = (rule: string) => alerts.filter((a) => a.ruleId === rule && a.count === 1);
  return { beat, exec, raised, advance: (ms: number) => (now += ms) };
}

const exit = (from: number, to: number): BlindIntervalV1 => ({ fromTs: ns(from), toTs: ns(to), cause: 'exit' });
const stall = (from: number, to: number): BlindIntervalV1 => ({ fromTs: ns(from), toTs: ns(to), cause: 'stall' });

test('sensor.probe-restart: every restart raises its own alert naming its blind interval, within the throttle window too', () => {
  const { beat, exec, raised, advance } = setup();
  beat([exec({})]);
  advance(5000);
  // Killed twice between two heartbeats.
  const blinds = [exit(100, 101), exit(102, 104)];
  const back = { state: 'running', lastExitTs: ns(103), lastRestartTs: ns(104), blindFromTs: ns(102) };
  beat([
    exec({ ...back, restarts: 2, recentBlinds: blinds, lastError: 'bpftrace exited (code null, signal SIGKILL)' }),
  ]);
  advance(5000);
  // Killed again 10 s later.
  beat([exec({ ...back, restarts: 3, recentBlinds: [exit(100, 101), exit(102, 104), exit(108, 110)] })]);
  advance(5000);
  beat([exec({ ...back, restarts: 3, recentBlinds: [exit(100, 101), exit(102, 104), exit(108, 110)] })]);
  const reasons = raised('sensor.probe-restart').map((a) => a.reason);
  assert.equal(reasons.length, 3, reasons.join('\n'));
  assert.match(reasons[0]!, /blind for 1\.0 s \(1970-01-01T00:01:40\.000Z to 1970-01-01T00:01:41\.000Z, the processes/);
  assert.match(reasons[1]!, /blind for 2\.0 s \(1970-01-01T00:01:42\.000Z to 1970-01-01T00:01:44\.000Z/);
  assert.match(reasons[2]!, /blind for 2\.0 s \(1970-01-01T00:01:48\.000Z to 1970-01-01T00:01:50\.000Z/);
  assert.deepEqual(
    raised('sensor.probe-restart').map((a) => a.ts),
    [ns(100), ns(102), ns(108)],
    'on the timeline at the start of each blind interval',
  );
});

test('sensor.probe-stalled: a probe frozen again within the throttle window raises again; stalls resumed between heartbeats each raise', () => {
  const { beat, exec, raised, advance } = setup();
  beat([exec({})]);
  advance(5000);
  beat([exec({ state: 'stalled', stalls: 1, blinds: 1, blindFromTs: ns(100) })]);
  advance(5000);
  beat([exec({ stalls: 1, blinds: 1, blindFromTs: ns(100), recentBlinds: [stall(100, 104)] })]);
  advance(5000);
  // Frozen and resumed twice between two heartbeats, 10 s after the first.
  const three = [stall(100, 104), stall(110, 113), stall(114, 118)];
  beat([exec({ stalls: 3, blinds: 3, blindFromTs: ns(114), recentBlinds: three })]);
  advance(5000);
  beat([exec({ state: 'stalled', stalls: 4, blinds: 4, blindFromTs: ns(120), recentBlinds: three })]);
  const reasons = raised('sensor.probe-stalled').map((a) => a.reason);
  assert.equal(reasons.length, 4, reasons.join('\n'));
  assert.match(reasons[0]!, /stalled: no output since 1970-01-01T00:01:40\.000Z/);
  assert.match(reasons[1]!, /stalled since 1970-01-01T00:01:50\.000Z and resumed at 1970-01-01T00:01:53\.000Z/);
  assert.match(reasons[2]!, /stalled since 1970-01-01T00:01:54\.000Z and resumed at 1970-01-01T00:01:58\.000Z/);
  assert.match(reasons[3]!, /stalled: no output since 1970-01-01T00:02:00\.000Z/);
});
