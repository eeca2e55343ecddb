import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DetectionEngine } from '../../engine.js';
import { received } from './testing.js';

test('sensor.probe-restart: probes sharing one bpftrace process raise one alert naming all of them', () => {
  const out: string[] = [];
  const e = new DetectionEngine({
    config: { expectedGpu: { exe: [], cgroup: [] }, sensorPids: () => new Set() },
    now: () => 0,
    onAlert: (a) => out.push(a.reason),
  });
  const hb = (probes: object[]) => received('h', 0, { probes });
  const shared = (name: string, o: object) => ({
    name,
    state: 'running',
    restarts: 0,
    lostEvents: 0,
    lastError: null,
    pid: 50,
    ...o,
  });
  e.tick([hb(['exec', 'proc', 'connect'].map((n) => shared(n, {})))]);
  e.tick([
    hb(
      ['exec', 'proc', 'connect'].map((n) =>
        shared(n, { restarts: 1, pid: 51, lastExitTs: '1000000000', lastRestartTs: '2000000000', lastError: 'killed' }),
      ),
    ),
  ]);
  assert.deepEqual(out, [
    'probe exec (with proc, connect: one bpftrace process) on h stopped and was restarted (1 restarts so far); blind for 1.0 s (1970-01-01T00:00:01.000Z to 1970-01-01T00:00:02.000Z, the processes started then and still running recovered from /proc); killed',
  ]);
});

test('sensor.probe-restart forgets the probes a heartbeat stops listing (names a forged heartbeat made up are not kept)', () => {
  const out: string[] = [];
  const e = new DetectionEngine({
    config: { expectedGpu: { exe: [], cgroup: [] }, sensorPids: () => new Set() },
    now: () => 0,
    onAlert: (a) => out.push(a.reason),
  });
  const hb = (probes: object[]) => received('h', 0, { probes });
  const probe = (name: string, o: object = {}) => ({
    name,
    state: 'running',
    restarts: 0,
    lostEvents: 0,
    lastError: null,
    ...o,
  });
  const restarted = { restarts: 5, lastExitTs: '1000000000', lastRestartTs: '2000000000', lastError: 'killed' };
  e.tick([hb([probe('exec'), probe('made-up-1')])]);
  e.tick([hb([probe('exec')])]);
  // Listed again: a new baseline, as for a probe first seen (its earlier state was not kept).
  e.tick([hb([probe('exec'), probe('made-up-1', restarted)])]);
  assert.deepEqual(out, []);
  e.tick([hb([probe('exec', restarted), probe('made-up-1', restarted)])]);
  assert.deepEqual(
    out,
    [
      'probe exec on h stopped and was restarted (5 restarts so far); blind for 1.0 s (1970-01-01T00:00:01.000Z to 1970-01-01T00:00:02.000Z, the processes started then and still running recovered from /proc); killed',
    ],
    'a probe listed throughout is still told',
  );
});

test('sensor.probe-restart waits until the probe is back to tell the blind gap, or 30 s', () => {
  let now = 0;
  const out: string[] = [];
  const e = new DetectionEngine({
    config: { expectedGpu: { exe: [], cgroup: [] }, sensorPids: () => new Set() },
    now: () => now,
    onAlert: (a) => out.push(a.reason),
  });
  const hb = (probes: object[]) => received('h', now, { probes });
  const probe = (o: object) => ({ name: 'exec', state: 'running', restarts: 0, lostEvents: 0, lastError: null, ...o });
  e.tick([hb([probe({}), probe({ name: 'gpu' })])]);
  now = 1000;
  e.tick([
    hb([
      probe({ state: 'restarting', restarts: 1, lastExitTs: '1000000000', lastError: 'killed' }),
      probe({ name: 'gpu', state: 'restarting', restarts: 1 }),
    ]),
  ]);
  assert.deepEqual(out, [], 'not while it is still down');
  now = 3000;
  e.tick([
    hb([
      probe({ restarts: 1, lastExitTs: '1000000000', lastRestartTs: '3500000000', lastError: 'killed' }),
      probe({ name: 'gpu', state: 'restarting', restarts: 1 }),
    ]),
  ]);
  assert.deepEqual(out, [
    'probe exec on h stopped and was restarted (1 restarts so far); blind for 2.5 s (1970-01-01T00:00:01.000Z to 1970-01-01T00:00:03.500Z, the processes started then and still running recovered from /proc); killed',
  ]);
  now = 40_000;
  e.tick([
    hb([
      probe({ restarts: 1, lastExitTs: '1000000000', lastRestartTs: '3500000000' }),
      probe({ name: 'gpu', state: 'failed', restarts: 1 }),
    ]),
  ]);
  assert.equal(out.length, 2);
  assert.match(out[1]!, /probe gpu on h stopped \(1 restarts so far\); not running again after 30 s/);
});
