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
  // 20,000 more processes, each of its own host, within the window (a hostile publisher numbering
  // hosts and pids): processes of one host and command shape would fold into one group alert.
  for (let pid = 2; pid <= 20_001; pid++) engine.process([{ ...exec(['x'], { pid }), host: `h${pid}` }]);
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
  assert.deepEqual(throttle.stats, { open: 16, closedEarly: 0, groupedByShape: 0, overRateCap: 0 });
  throttle.offer('k16', '1', [], () => alert('k16'));
  assert.deepEqual(
    throttle.stats,
    { open: 15, closedEarly: 2, groupedByShape: 0, overRateCap: 0 },
    'the oldest eighth closed',
  );
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

test('a storm of one command: 10,000 miner-like execs raise a handful of alerts that count every process', () => {
  let now = 0;
  const alerts: AlertV1[] = [];
  const engine = new DetectionEngine({
    config: TEST_CONFIG,
    throttleMs: 60_000,
    now: () => now,
    onAlert: (a) => alerts.push(structuredClone(a)),
  });
  engine.setDetections(builtinEngine().engine.list());
  for (let pid = 10_000; pid < 20_000; pid++)
    engine.process([
      exec(['/tmp/.x/xmrig', '-o', `stratum+tcp://10.0.0.${pid % 250}:3333`, '--threads', String(pid % 7)], { pid }),
    ]);
  now = 61_000;
  engine.tick();
  const miner = alerts.filter((a) => a.ruleId === 'miner.exec');
  const ids = new Set(miner.map((a) => a.id));
  assert.ok(ids.size <= 6, `${ids.size} alerts (5 processes of their own, one group)`);
  const last = new Map(miner.map((a) => [a.id, a]));
  const separate = [...last.values()].filter((a) => !a.grouped);
  const group = [...last.values()].find((a) => a.grouped);
  assert.deepEqual(
    separate.map((a) => a.proc?.pid),
    [10_000, 10_001, 10_002, 10_003, 10_004],
  );
  assert.ok(group, 'the rest fold into a group alert');
  assert.equal(group.grouped!.by, 'command-shape');
  assert.equal(group.grouped!.processes, 10_000 - 5, 'every process past the first five is counted');
  assert.equal(group.count, 10_000 - 5);
  assert.equal(group.grouped!.samples.length, 5);
  assert.match(group.reason, /command shape/);
});

test("processes of different command shapes each raise until the rule's rate cap on the host; the rest are counted in one", () => {
  const alerts: AlertV1[] = [];
  const engine = new DetectionEngine({
    config: TEST_CONFIG,
    throttleMs: 60_000,
    now: () => 0,
    onAlert: (a) => alerts.push(structuredClone(a)),
  });
  engine.setDetections(builtinEngine().engine.list());
  const letters = (n: number) => n.toString(26).replace(/\d/g, (d) => 'qrstuvwxyz'[Number(d)]!);
  // 150 distinct binaries (names without digits, so each is its own shape), each a miner by its flags.
  for (let i = 0; i < 150; i++)
    engine.process([exec([`/tmp/${letters(i)}`, '-o', 'stratum+tcp://pool.example:3333'], { pid: 1000 + i })]);
  const miner = alerts.filter((a) => a.ruleId === 'miner.exec');
  const own = miner.filter((a) => !a.grouped);
  const capped = miner.filter((a) => a.grouped?.by === 'rate-cap');
  assert.equal(own.length, 100, 'the first 100 alerts of the rule on the host');
  assert.equal(capped.length, 1, 'one overflow alert');
  assert.equal(capped[0]!.grouped!.processes, 1, 'as raised; its count grows as the rest fold in');
  assert.equal(
    engine.throttleStats.overRateCap,
    50,
    'every finding past the cap, the one that raised the overflow alert too',
  );
  // Another host is not capped by this one.
  engine.process([{ ...exec(['/tmp/other', '-o', 'stratum+tcp://pool.example:3333'], { pid: 5 }), host: 'h2' }]);
  assert.equal(alerts.filter((a) => a.host === 'h2' && !a.grouped).length, 1);
});

test('five processes of one shape keep their own alerts (each small attack keeps its process)', () => {
  const alerts: AlertV1[] = [];
  const engine = new DetectionEngine({ config: TEST_CONFIG, onAlert: (a) => alerts.push(a), now: () => 0 });
  engine.setDetections(builtinEngine().engine.list());
  for (const pid of [1, 2, 3, 4, 5]) engine.process([exec(['xmrig', '-o', 'stratum+tcp://p.example:3333'], { pid })]);
  assert.deepEqual(
    alerts.filter((a) => a.ruleId === 'miner.exec').map((a) => [a.proc?.pid, a.grouped]),
    [
      [1, undefined],
      [2, undefined],
      [3, undefined],
      [4, undefined],
      [5, undefined],
    ],
  );
});
