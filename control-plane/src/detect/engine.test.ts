import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { AlertV1 } from '@vigil/schema';
import { DetectionEngine } from './engine.js';
import { defineDetection, type AnyDetection } from './define.js';
import { exec, TEST_CONFIG } from './testing.js';

const always = (id: string, images?: string[]) => defineDetection({
  id, title: id, severity: 'low', mitre: [], on: ['exec'], ...(images ? { images } : {}),
  match: () => ({ reason: id }),
}) as AnyDetection;

test('the image index skips detections that named other images, and keeps load order for the rest', () => {
  const alerts: AlertV1[] = [];
  const engine = new DetectionEngine({ config: TEST_CONFIG, onAlert: (a) => alerts.push(a), throttleMs: 0 });
  engine.setDetections([always('a'), always('b', ['curl', 'wget']), always('c'), always('d', ['curl'])]
    .map((detection) => ({ detection, source: 'builtin' as const, author: null, origin: 'test' })));
  const fired = (exe: string) => {
    alerts.length = 0;
    engine.process([exec([exe], {}, exe)]);
    return alerts.map((a) => a.ruleId);
  };
  assert.deepEqual(fired('/usr/bin/curl'), ['a', 'b', 'c', 'd']);
  assert.deepEqual(fired('/opt/X/CURL'), ['a', 'b', 'c', 'd'], 'basenames compare in lower case, as Sigma does');
  assert.deepEqual(fired('/usr/bin/wget'), ['a', 'b', 'c']);
  assert.deepEqual(fired('/usr/bin/curl2'), ['a', 'c']);
});

test('past the 50,000-process bound the oldest histories go, with their flags; recent ones stay whole', () => {
  const seen: { recent: number; flagged: boolean }[] = [];
  const probe = defineDetection({
    id: 'probe', title: 'probe', severity: 'low', mitre: [], on: ['exec'],
    match: (ev, ctx) => {
      if (ev.proc.argv[0] === 'look') {
        for (const pid of [1000, 1000 + 59_999]) seen.push({ recent: ctx.recent(ev.host, pid).length, flagged: ctx.flagged(ev.host, pid).size > 0 });
        return null;
      }
      return ev.proc.pid === 1000 || ev.proc.pid === 1000 + 59_999 ? { reason: 'mark' } : null;
    },
  }) as AnyDetection;
  const engine = new DetectionEngine({ config: TEST_CONFIG, onAlert: () => {}, throttleMs: 0 });
  engine.setDetections([{ detection: probe, source: 'builtin', author: null, origin: 'test' }]);
  for (let i = 0; i < 60_000; i += 1000) engine.process(Array.from({ length: 1000 }, (_, j) => exec(['/bin/true'], { pid: 1000 + i + j, ppid: 999 })));
  engine.process([exec(['look'], { pid: 5, ppid: 1 })]);
  assert.deepEqual(seen, [{ recent: 0, flagged: false }, { recent: 1, flagged: true }], 'the first process is gone with its flag; the last is kept with its own');
});

test('events that arrived together are evaluated in kernel time order, ties in arrival order, leading zeros or not', () => {
  // NsTimestamp: 1-20 decimal digits, leading zeros allowed by the schema.
  const ts = fc.tuple(fc.nat({ max: 3 }), fc.bigInt({ min: 0n, max: 99_999_999_999_999_999_999n }))
    .map(([zeros, n]) => ('0'.repeat(zeros) + n.toString()).slice(-20).replace(/^$/, '0'));
  fc.assert(fc.property(fc.array(ts, { minLength: 1, maxLength: 40 }), (times) => {
    const seen: string[] = [];
    const engine = new DetectionEngine({ config: TEST_CONFIG, onAlert: () => undefined });
    const order = defineDetection({ id: 'order', title: 'order', severity: 'low', mitre: [], on: ['exec'], match: (ev) => { seen.push(ev.id); return null; } }) as AnyDetection;
    engine.setDetections([{ detection: order, source: 'builtin', author: null, origin: 'test' }]);
    const events = times.map((t) => ({ ...exec(['true']), ts: t }));
    engine.process(events);
    const expected = events.map((ev, i) => ({ ev, i })).sort((a, b) => {
      const d = BigInt(a.ev.ts) - BigInt(b.ev.ts);
      return d < 0n ? -1 : d > 0n ? 1 : a.i - b.i;
    }).map(({ ev }) => ev.id);
    assert.deepEqual(seen, expected);
  }), { numRuns: 300 });
});

const loaded = (detection: AnyDetection) => ({ detection, source: 'builtin' as const, author: null, origin: 'test' });

test('open throttle windows are bounded: past 20,000 the oldest close early, their repeat counts sent first', () => {
  const alerts: AlertV1[] = [];
  const engine = new DetectionEngine({ config: TEST_CONFIG, onAlert: (a) => alerts.push({ ...a }), throttleMs: 60_000, now: () => 0 });
  engine.setDetections([loaded(always('noisy'))]);
  engine.process([exec(['x'], { pid: 1 }), exec(['x'], { pid: 1 }), exec(['x'], { pid: 1 })]);
  assert.deepEqual(alerts.map((a) => a.count), [1], 'repeats folded into the open window');
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
  const engine = new DetectionEngine({ config: TEST_CONFIG, onAlert: (a) => alerts.push({ ...a }), throttleMs: 1000, now: () => now });
  engine.setDetections([loaded(always('noisy'))]);
  engine.process([exec(['x'], { pid: 1 }), exec(['x'], { pid: 1 })]);
  now = 1500;
  engine.process([exec(['x'], { pid: 1 })]);
  assert.deepEqual(alerts.map((a) => [a.id === alerts[0]!.id, a.count]), [[true, 1], [true, 2], [false, 1]]);
});

test('flags raised for processes no event brought (a SQL detection) go with the same bound as histories', () => {
  const seen: boolean[] = [];
  const probe = defineDetection({
    id: 'probe', title: 'probe', severity: 'low', mitre: [], on: ['exec'],
    match: (ev, ctx) => { for (const pid of [1000, 1000 + 59_999]) seen.push(ctx.flagged(ev.host, pid).has('sql.rule')); return null; },
  }) as AnyDetection;
  const engine = new DetectionEngine({ config: TEST_CONFIG, onAlert: () => {}, throttleMs: 0 });
  engine.setDetections([loaded(probe)]);
  const sql = { detection: { ...always('sql.rule'), id: 'sql.rule' }, source: 'sql' as const, author: null };
  const proc = exec(['x']).proc;
  for (let i = 0; i < 60_000; i++) engine.raise(sql, 'h', { ...proc, pid: 1000 + i }, '1', [], { reason: 'row' });
  engine.process([{ ...exec(['look'], { pid: 5 }), host: 'h' }]);
  assert.deepEqual(seen, [false, true], 'the first flag went with the bound; the last is kept');
});
