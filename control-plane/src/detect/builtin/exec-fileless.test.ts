import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EventV1, ProcessV1 } from '@vigil/schema';
import { builtinEngine, conn, connect, exec, gpu } from '../testing.js';

const RULE = 'exec.fileless';
const run = (...events: EventV1[]) => {
  const { engine, alerts } = builtinEngine();
  engine.process(events);
  return alerts.filter((a) => a.ruleId === RULE);
};
const memfd: Partial<ProcessV1> = { pid: 9500, comm: '3', exe: '/memfd:x (deleted)', fileless: true, memfdName: 'x' };

test('exec.fileless: a memfd exec is high, naming the memfd', () => {
  const alerts = run(exec(['[kworker/0:1]'], memfd, '/memfd:x (deleted)'));
  assert.deepEqual(
    alerts.map((a) => [a.severity, a.reason]),
    [['high', 'fileless exec: memfd:x (pid 9500) runs from a file descriptor, not a file (/memfd:x (deleted))']],
  );
});

test('exec.fileless: critical once it connects off this host or uses the GPU; a loopback connect adds nothing', () => {
  const net = run(
    exec(['a'], memfd, '/memfd:x (deleted)'),
    connect('127.0.0.1', 80, memfd),
    connect('10.0.0.5', 4444, memfd),
  );
  assert.deepEqual(
    net.map((a) => a.severity),
    ['high', 'critical'],
  );
  assert.equal(net[1]!.reason, 'fileless program memfd:x (pid 9500) connected to 10.0.0.5:4444');
  const viaConn = run(
    exec(['a'], memfd, '/memfd:x (deleted)'),
    conn('established', 'out', '10.0.0.2:40000', '10.0.0.5:443', memfd),
  );
  assert.deepEqual(
    viaConn.map((a) => a.severity),
    ['high', 'critical'],
  );
  const g = run(exec(['a'], memfd, '/memfd:x (deleted)'), gpu('NV_ESC_RM_ALLOC', 'HOPPER_COMPUTE_A', memfd));
  assert.deepEqual(
    g.map((a) => a.severity),
    ['high', 'critical'],
  );
  assert.match(g[1]!.reason, /uses the GPU: NV_ESC_RM_ALLOC \(HOPPER_COMPUTE_A\) on \/dev\/nvidiactl/);
  // Its later events may not carry the flag: its exec does.
  const plain = { pid: 9500, comm: '3', exe: '/proc/self/fd/3' };
  assert.deepEqual(
    run(exec(['a'], { ...plain, fileless: true }, '/proc/self/fd/3'), connect('10.0.0.5', 4444, plain)).map(
      (a) => a.severity,
    ),
    ['high', 'critical'],
  );
});

test('exec.fileless: programs run from files raise nothing', () => {
  assert.deepEqual(run(exec(['python3', 'train.py']), connect('10.0.0.5', 4444, {}), exec(['/tmp/x'])), []);
});
