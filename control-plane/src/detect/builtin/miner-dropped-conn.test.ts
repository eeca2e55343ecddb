import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinEngine, connTo, gpu } from '../testing.js';
import type { EventV1 } from '@vigil/schema';

function raised(...events: EventV1[]): string[] {
  const { engine, alerts } = builtinEngine();
  engine.process(events);
  return alerts.map((a) => `${a.ruleId}:${a.severity}`);
}

const DROPPED = {
  pid: 6200,
  exe: '/home/u/.x/kw',
  comm: 'kw',
  argv: ['kw'],
  exeRecentlyWritten: true,
  exeInWritableDir: true,
};
const later = (ev: EventV1, s: number) => (BigInt(ev.ts) + BigInt(s) * 1_000_000_000n).toString();

test('miner.dropped-long-conn: a dropped binary held a pool-port connection over a minute (close duration)', () => {
  assert.deepEqual(raised(connTo('close', '198.51.100.7:3333', DROPPED, { durationMs: 600_000 })), [
    'miner.dropped-long-conn:high',
  ]);
  // With GPU compute it is critical.
  assert.deepEqual(
    raised(
      gpu('NV_ESC_RM_ALLOC', 'HOPPER_COMPUTE_A', DROPPED),
      connTo('close', '198.51.100.7:3333', DROPPED, { durationMs: 600_000 }),
    ).filter((r) => r.startsWith('miner.')),
    ['miner.dropped-long-conn:critical'],
  );
});

test('miner.dropped-long-conn: established with no close for over a minute', () => {
  const est = connTo('established', '198.51.100.7:14444', DROPPED);
  assert.deepEqual(raised(est, connTo('established', '198.51.100.7:14444', DROPPED, { ts: later(est, 61) })), [
    'miner.dropped-long-conn:high',
  ]);
  // Closed within the minute: a request, not a session.
  assert.deepEqual(
    raised(
      est,
      connTo('close', '198.51.100.7:14444', DROPPED, { durationMs: 2000 }),
      connTo('established', '198.51.100.7:14444', DROPPED, { ts: later(est, 61), localPort: 40001 }),
    ),
    [],
  );
});

test('miner.dropped-long-conn: installed software, loopback peers and non-pool ports raise nothing', () => {
  const installed = { pid: 6300, exe: '/usr/bin/python3.11', comm: 'python3', argv: ['python3', 'serve.py'] };
  assert.deepEqual(
    raised(
      connTo('close', '198.51.100.7:3333', installed, { durationMs: 600_000 }),
      connTo('close', '127.0.0.1:3333', DROPPED, { durationMs: 600_000 }),
      connTo('close', '198.51.100.7:8080', DROPPED, { durationMs: 600_000 }),
      connTo('close', '198.51.100.7:443', DROPPED, { durationMs: 600_000 }),
    ),
    [],
  );
});
