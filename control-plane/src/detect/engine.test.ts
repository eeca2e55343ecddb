import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DetectionEngine } from './engine.js';
import { defineDetection, type AnyDetection } from './define.js';
import type { AlertV1 } from '@vigil/schema';
import { asLoaded, exec, execWithStdio, pipeFd, TEST_CONFIG } from './testing.js';

test('events that arrived together are evaluated in kernel time order, ties in arrival order, leading zeros or not', () => {
  // NsTimestamp: 1-20 decimal digits, leading zeros allowed by the schema.
  const ts = fc
    .tuple(fc.nat({ max: 3 }), fc.bigInt({ min: 0n, max: 99_999_999_999_999_999_999n }))
    .map(([zeros, n]) => ('0'.repeat(zeros) + n.toString()).slice(-20).replace(/^$/, '0'));
  fc.assert(
    fc.property(fc.array(ts, { minLength: 1, maxLength: 40 }), (times) => {
      const seen: string[] = [];
      const engine = new DetectionEngine({ config: TEST_CONFIG, onAlert: () => undefined });
      const order = defineDetection({
        id: 'order',
        title: 'order',
        severity: 'low',
        mitre: [],
        on: ['exec'],
        match: (ev) => {
          seen.push(ev.id);
          return null;
        },
      }) as AnyDetection;
      engine.setDetections([{ detection: order, source: 'builtin', author: null, origin: 'test' }]);
      const events = times.map((t) => ({ ...exec(['true']), ts: t }));
      engine.process(events);
      const expected = events
        .map((ev, i) => ({ ev, i }))
        .sort((a, b) => {
          const d = BigInt(a.ev.ts) - BigInt(b.ev.ts);
          return d < 0n ? -1 : d > 0n ? 1 : a.i - b.i;
        })
        .map(({ ev }) => ev.id);
      assert.deepEqual(seen, expected);
    }),
    { numRuns: 300 },
  );
});

test('a detection can tell a renamed copy by the hash the sensor reported for its path', () => {
  const SSH = 'c'.repeat(64);
  const engine = new DetectionEngine({ config: TEST_CONFIG, onAlert: () => undefined });
  const seen: (string | undefined)[] = [];
  const byHash = defineDetection({
    id: 'by-hash',
    title: 'by hash',
    severity: 'low',
    mitre: [],
    on: ['exec'],
    match: (ev, ctx) => {
      seen.push(ctx.exeHash(ev.host, ev.proc));
      return null;
    },
  }) as AnyDetection;
  engine.setDetections([{ detection: byHash, source: 'builtin', author: null, origin: 'test' }]);
  const first = exec(['/tmp/other-name', '-V']);
  engine.process([first]);
  const { id, v, host, ts, proc } = exec(['/tmp/other-name']);
  engine.process([
    {
      id,
      v,
      host,
      ts,
      proc,
      kind: 'exe',
      exe: { path: '/tmp/other-name', sha256: SSH, size: 1, recentlyWritten: true, inWritableDir: true },
    },
  ]);
  engine.process([exec(['/tmp/other-name', '-V'])]);
  assert.deepEqual(seen, [undefined, SSH]);
});

test('a finding about another process (Finding.proc) raises its alert, flags it and throttles with its repeats; ctx.stdioPeers pairs pipe ends', () => {
  const alerts: AlertV1[] = [];
  const engine = new DetectionEngine({ config: TEST_CONFIG, onAlert: (a) => alerts.push(a) });
  const other = exec(['sh'], { pid: 20 }).proc;
  const flagsOf20: string[][] = [];
  const about = defineDetection({
    id: 'about-other',
    title: 'about-other',
    severity: 'low',
    mitre: [],
    on: ['exec'],
    match: (ev, ctx) => {
      flagsOf20.push([...ctx.flagged(ev.host, 20)]);
      const peers = ctx.stdioPeers(ev.host, 5).map((e) => e.proc.pid);
      return { reason: `peers ${peers.join(',')}`, proc: other };
    },
  }) as AnyDetection;
  engine.setDetections([asLoaded(about)]);
  engine.process([
    execWithStdio(['a'], [pipeFd(1, 5)], { pid: 10 }),
    execWithStdio(['b'], [pipeFd(0, 5)], { pid: 11 }),
  ]);
  assert.deepEqual(
    alerts.map((a) => [a.proc?.pid, a.reason, a.count]),
    [[20, 'peers 10', 2]],
    'one alert about pid 20 (each exec sees itself among the pipe ends): the second finding folds into it',
  );
  assert.deepEqual(flagsOf20, [[], ['about-other']]);
});
