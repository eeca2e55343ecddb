import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchCollector, BatchMerger } from './batch.js';
import { decodeExecBatch, EXEC_MAX_ARGS } from '../decode/exec.js';
import { decodeProcBatch } from '../decode/proc.js';

const rec = (ns: number, tag = '') => ({ ns, tag });

test('the merger holds records until every running source has flushed past them, then orders them', () => {
  const running = ['exec', 'proc'];
  const m = new BatchMerger<{ ns: number; tag: string }>(
    () => running,
    1000,
    () => 0,
  );
  // proc flushes first: its fork and exit of a process whose exec (ns 150) exec.bt still holds.
  assert.deepEqual(m.add('proc', [rec(100, 'fork'), rec(208, 'exit')], 210), [], 'exec has not flushed yet');
  const out = m.add('exec', [rec(150, 'exec')], 205);
  assert.deepEqual(
    out.map((r) => r.tag),
    ['fork', 'exec'],
    'both sources are past 205; the exit at 208 is not yet: exec may still hold something before it',
  );
  assert.equal(m.size, 1);
  assert.equal(
    m
      .add('exec', [], 260)
      .map((r) => r.tag)
      .join(),
    'exit',
  );
  assert.equal(m.size, 0);
});

test('a record printed at once waits for the execs and forks before it that the maps still hold', () => {
  const running = ['exec', 'proc'];
  const m = new BatchMerger<{ ns: number; tag: string }>(
    () => running,
    1000,
    () => 0,
  );
  m.add('exec', [], 100);
  m.add('proc', [], 120);
  assert.deepEqual(
    m.hold([rec(50, 'early connect')]).map((r) => r.tag),
    ['early connect'],
    'below the watermark: at once',
  );
  assert.deepEqual(m.hold([rec(150, 'connect')]), [], 'the exec of its process may still be in the maps');
  assert.deepEqual(m.add('exec', [rec(140, 'exec')], 160), [], 'proc has not flushed past 150');
  assert.deepEqual(
    m.add('proc', [rec(130, 'fork')], 170).map((r) => r.tag),
    ['fork', 'exec', 'connect'],
  );
  running.length = 0;
  assert.deepEqual(
    m.hold([rec(10, 'late')]).map((r) => r.tag),
    ['late'],
    'no source buffers: nothing waits',
  );
});

test('a source that is not running is not waited for; a source that never flushes holds nothing past maxHoldMs', () => {
  let now = 0;
  const running = ['exec', 'proc'];
  const m = new BatchMerger<{ ns: number; tag: string }>(
    () => running,
    1000,
    () => now,
  );
  assert.deepEqual(m.add('proc', [rec(100)], 200), []);
  now = 999;
  assert.deepEqual(m.release(), [], 'not yet stale');
  now = 1000;
  assert.equal(m.release().length, 1, 'held for maxHoldMs: released');
  assert.equal(m.heldToTimeout, 1, 'counted as let go by the timeout');
  assert.deepEqual(m.add('proc', [rec(300)], 400), []);
  running.splice(0, 1);
  assert.equal(m.release().length, 1, 'exec stopped: proc alone sets the watermark');
  running.unshift('exec');
  m.add('proc', [rec(500), rec(450)], 600);
  assert.deepEqual(
    m.release(true).map((r) => r.ns),
    [450, 500],
    'release(all) drains in order',
  );
  assert.equal(m.heldToTimeout, 1, 'neither the watermark nor draining counts as a timeout');
});

test('the collector strips the epoch suffix and starts afresh after each flush', () => {
  const c = new BatchCollector();
  c.push('@exec_head1', { a: 1 });
  c.push('@exec_sent1', { 1: 1 });
  const maps = c.end();
  assert.deepEqual([...maps.keys()], ['@exec_head', '@exec_sent']);
  assert.equal(c.end().size, 0);
});

const execMaps = (m: Record<string, Record<string, unknown>>) => new Map(Object.entries(m));

test('exec batch: argv assembled by index, >32 elements or a cut element flagged, gaps counted as lost', () => {
  const longArg = 'A'.repeat(199);
  const res = decodeExecBatch(
    execMaps({
      '@exec_head': {
        '10,1000': [10, 1, 0, 0, 5, 'curl', 3, '/usr/bin/curl'],
        '11,1001': [11, 1, 0, 0, 5, 'seq', 40, '/usr/bin/seq'],
        '12,1002': [12, 1, 0, 0, 5, 'cat', 2, '/usr/bin/cat'],
      },
      '@exec_arg': {
        '10,1000,2': 'http://x',
        '10,1000,0': 'curl',
        '10,1000,1': '-s',
        ...Object.fromEntries(Array.from({ length: EXEC_MAX_ARGS }, (_, i) => [`11,1001,${i}`, String(i)])),
        '12,1002,0': 'cat',
        '12,1002,1': longArg,
      },
      '@exec_sent': { 1: 3 },
    }),
    199,
  );
  assert.equal(res.rejects, 0);
  assert.equal(res.lost, 0);
  const [curl, seq, cat] = res.records;
  assert.deepEqual(curl?.argv, ['curl', '-s', 'http://x']);
  assert.equal(curl?.argvTruncated, false);
  assert.equal(curl?.filename, '/usr/bin/curl');
  assert.equal(seq?.argv.length, EXEC_MAX_ARGS);
  assert.equal(seq?.argvTruncated, true);
  assert.equal(cat?.argvTruncated, true, 'an argument at the string limit may have been cut');

  // A full map dropped one head and one argument of another: that exec still comes out, and both gaps are counted.
  const gap = decodeExecBatch(
    execMaps({
      '@exec_head': { '10,1000': [10, 1, 0, 0, 5, 'curl', 3, '/usr/bin/curl'] },
      '@exec_arg': { '10,1000,0': 'curl', '10,1000,2': 'http://x', '11,1001,0': 'orphan of the lost head' },
      '@exec_sent': { 1: 2 },
    }),
    199,
  );
  assert.deepEqual(gap.records[0]?.argv, ['curl', '', 'http://x']);
  assert.equal(gap.lost, 1 + 1, 'one head and one argument of a received head are missing');

  const bad = decodeExecBatch(
    execMaps({
      '@exec_head': {
        '10,1000': [10, 'x'],
        nonsense: [1, 1, 0, 0, 5, 'a', 1, '/usr/bin/a'],
        '12,1002': [12, 1, 0, 0, 5, 'b', 2, '/usr/bin/b'],
      },
      '@exec_arg': { '10,1000,99': 'x', '12,1002,0': 'b' },
      '@exec_sent': { 1: 3 },
    }),
    199,
  );
  assert.equal(bad.rejects, 3);
  assert.equal(bad.records.length, 1);
  assert.equal(bad.lost, 0, 'a rejected entry was received: counted once, as a reject, not as lost too');
});

test('proc batch: forks and exits with split wait status; rejects are not double-counted as lost', () => {
  const res = decodeProcBatch(
    execMaps({
      '@proc_fork': { '20,500': [10, 0, 5, 'bash'] },
      '@proc_exit': { '20,600': [9, 'sleep'], '21,601': [768, 'sh'], '22,602': ['x'] },
      '@proc_sent': { 10: 2, 11: 3 },
    }),
  );
  assert.equal(res.rejects, 1);
  assert.equal(res.lost, 1, 'one fork the probe counted never arrived');
  const exits = res.records.filter((r) => r.type === 'proc.exit');
  assert.deepEqual(
    exits.map((e) => e.type === 'proc.exit' && [e.pid, e.code, e.signal]),
    [
      [20, null, 9],
      [21, 3, null],
    ],
  );
});

test("a write late for its set's print is lost only if neither that flush nor the next holds it, and counts once", () => {
  // Flush 1 holds exec 10 but missed exec 11, whose writer stalled past the print: neither bumped a
  // count (a late writer bumps none). Flush 2 names both as late.
  const c = new BatchCollector();
  c.push('@exec_head0', {
    '10,1000': [10, 1, 0, 0, 5, 'a', 1, '/usr/bin/a'],
    '9,900': [9, 1, 0, 0, 5, 'z', 1, '/usr/bin/z'],
  });
  c.push('@exec_arg0', { '10,1000,0': 'a', '9,900,0': 'z' });
  c.push('@exec_sent0', { 1: 1 });
  const first = decodeExecBatch(c.end(), 199, c.before);
  assert.equal(first.records.length, 2);
  assert.equal(first.lost, 0);
  c.push('@exec_head1', { '12,1200': [12, 1, 0, 0, 5, 'b', 1, '/usr/bin/b'] });
  c.push('@exec_arg1', { '12,1200,0': 'b' });
  c.push('@exec_late1', { '10,1000': 1, '11,1100': 1, bad: 1 });
  c.push('@exec_sent1', { 1: 1 });
  const second = decodeExecBatch(c.end(), 199, c.before);
  assert.equal(second.records.length, 1);
  assert.equal(second.lost, 1, 'exec 11 is in neither flush; exec 10 was printed');
  assert.equal(second.rejects, 1, 'a malformed late key');
  // Without the flush before (the sensor's first), a late write is taken as lost.
  assert.equal(decodeExecBatch(execMaps({ '@exec_late': { '10,1000': 1 } }), 199).lost, 1);
  // At stop END prints both sets in one flush: a late write the same flush holds is not lost.
  assert.equal(
    decodeExecBatch(
      execMaps({
        '@exec_head': { '10,1000': [10, 1, 0, 0, 5, 'a', 1, '/usr/bin/a'] },
        '@exec_arg': { '10,1000,0': 'a' },
        '@exec_late': { '10,1000': 1 },
      }),
      199,
    ).lost,
    0,
  );

  // proc.bt names the kind: 10 a fork, 11 an exit.
  const before = execMaps({ '@proc_fork': { '20,500': [10, 0, 5, 'bash'] }, '@proc_sent': { 10: 1 } });
  const proc = decodeProcBatch(
    execMaps({ '@proc_late': { '10,20,500': 1, '11,20,500': 1, '11,21,600': 1, '12,1,1': 1 } }),
    before,
  );
  assert.equal(proc.lost, 2, 'an exit where the flush before held only the fork of that key, and an exit held nowhere');
  assert.equal(proc.rejects, 1, 'kind 12 is neither');
});

test('the collector merges both sets of a map printed in one flush and sums their counts', () => {
  // END prints both sets: the one writers filled last and the one a tick flipped away from.
  const c = new BatchCollector();
  c.push('@exec_head0', { '1,10': ['a'] });
  c.push('@exec_sent0', { 1: 1 });
  c.push('@exec_head1', { '2,20': ['b'], '3,30': ['c'] });
  c.push('@exec_sent1', { 1: 2 });
  const maps = c.end();
  assert.deepEqual(Object.keys(maps.get('@exec_head')!).sort(), ['1,10', '2,20', '3,30']);
  assert.deepEqual(maps.get('@exec_sent'), { 1: 3 });
});

test('the collector takes a set printed twice in one flush once', () => {
  // At stop: a tick's print of a set read before SIGINT, and END's print of the same set after it.
  const c = new BatchCollector();
  c.push('@exec_head1', { '2,20': ['b'] });
  c.push('@exec_sent1', { 1: 1 });
  c.push('@exec_head0', { '3,30': ['c'] });
  c.push('@exec_sent0', { 1: 1 });
  c.push('@exec_head1', { '2,20': ['b'] });
  c.push('@exec_sent1', { 1: 1 });
  const maps = c.end();
  assert.deepEqual(Object.keys(maps.get('@exec_head')!).sort(), ['2,20', '3,30']);
  assert.deepEqual(maps.get('@exec_sent'), { 1: 2 }, 'one count per set');
});

test('a flush marking an earlier time than the last does not pull the watermark back', () => {
  const m = new BatchMerger<{ ns: number; tag: string }>(
    () => ['exec'],
    1000,
    () => 0,
  );
  m.add('exec', [], 500);
  // At stop, a tick's flush can be drained after END's, with its older mark.
  m.add('exec', [], 300);
  assert.deepEqual(
    m.hold([rec(400, 'connect')]).map((r) => r.tag),
    ['connect'],
    'still below 500: at once',
  );
});
