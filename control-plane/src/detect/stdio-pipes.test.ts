import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ExecEventV1 } from '@vigil/schema';
import { StdioPipes } from './stdio-pipes.js';
import { execWithStdio, pipeFd, tcpFd, ttyFd } from './testing.js';

const pids = (l: readonly ExecEventV1[]) => l.map((e) => e.proc.pid);

test('StdioPipes: both ends of a pipe find each other by inode, per host, whichever exec came first', () => {
  const pipes = new StdioPipes(() => 0);
  const reader = execWithStdio(['sh'], [pipeFd(0, 42), ttyFd(1)], { pid: 2 });
  const writer = execWithStdio(['curl', 'x'], [ttyFd(0), pipeFd(1, 42)], { pid: 1 });
  pipes.observe(reader);
  pipes.observe(writer);
  pipes.observe(execWithStdio(['bash'], [tcpFd(0, '10.0.0.5:1')], { pid: 3 }));
  assert.deepEqual(pids(pipes.peers('h1', 42)), [2, 1]);
  assert.deepEqual(pipes.peers('h2', 42), [], 'another host’s pipe 42 is another pipe');
  assert.deepEqual(pipes.peers('h1', 90_000), [], 'sockets are not pipes');
});

test('StdioPipes: an inode not seen within the TTL is forgotten (a later pipe may reuse it); the bound evicts the oldest', () => {
  let now = 0;
  const pipes = new StdioPipes(() => now, 2, 1000);
  pipes.observe(execWithStdio(['a'], [pipeFd(1, 1)], { pid: 1 }));
  now = 2000;
  assert.deepEqual(pipes.peers('h1', 1), []);
  pipes.observe(execWithStdio(['b'], [pipeFd(0, 1)], { pid: 2 }));
  assert.deepEqual(pids(pipes.peers('h1', 1)), [2], 'the old end does not pair the new one');
  pipes.observe(execWithStdio(['c'], [pipeFd(0, 2)], { pid: 3 }));
  pipes.observe(execWithStdio(['d'], [pipeFd(0, 3)], { pid: 4 }));
  assert.deepEqual(pipes.peers('h1', 1), [], 'over the bound of 2');
  assert.deepEqual(pids(pipes.peers('h1', 3)), [4]);
  now = 5000;
  pipes.sweep();
  assert.deepEqual(pipes.peers('h1', 3), []);
});
