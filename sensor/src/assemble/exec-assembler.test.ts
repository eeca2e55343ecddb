import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExecAssembler } from './exec-assembler.js';

const header = (pid: number) => ({
  type: 'exec.enter' as const,
  ns: 10,
  pid,
  tid: pid,
  ppid: 1,
  uid: 0,
  gid: 0,
  cgroupId: 7,
  comm: 'bash',
  moreArgs: false,
});

test('a return that arrives before its header (another CPU) still completes the exec', () => {
  const a = new ExecAssembler(199);
  assert.equal(a.push({ type: 'exec.arg', ns: 1, pid: 5, idx: 0, arg: 'ls' }), null);
  assert.equal(a.push({ type: 'exec.return', ns: 3, pid: 5, ret: 0, comm: 'ls' }), null);
  assert.equal(a.push({ type: 'exec.filename', ns: 2, pid: 5, filename: '/bin/ls' }), null);
  const done = a.push(header(5));
  assert.deepEqual(done && { argv: done.argv, comm: done.comm, ret: done.ret, filename: done.filename }, {
    argv: ['ls'],
    comm: 'ls',
    ret: 0,
    filename: '/bin/ls',
  });
  assert.equal(a.size, 0);
});

test('a failed exec keeps the caller comm; an exec whose return is lost completes with ret null', () => {
  let now = 0;
  const a = new ExecAssembler(199, 1000, () => now);
  a.push({ type: 'exec.arg', ns: 1, pid: 6, idx: 0, arg: 'x' });
  a.push(header(6));
  const failed = a.push({ type: 'exec.return', ns: 3, pid: 6, ret: -2, comm: 'bash' });
  assert.equal(failed?.comm, 'bash');
  a.push({ type: 'exec.arg', ns: 1, pid: 7, idx: 0, arg: 'y' });
  a.push(header(7));
  assert.deepEqual(a.flushExpired(), []);
  now = 2000;
  const [late] = a.flushExpired();
  assert.equal(late?.ret, null);
  assert.deepEqual(late?.argv, ['y']);
});

test('interleaved execs of different processes do not mix their argv', () => {
  const a = new ExecAssembler(199);
  a.push({ type: 'exec.arg', ns: 1, pid: 8, idx: 0, arg: 'a0' });
  a.push({ type: 'exec.arg', ns: 1, pid: 9, idx: 0, arg: 'b0' });
  a.push({ type: 'exec.arg', ns: 1, pid: 8, idx: 1, arg: 'a1' });
  a.push(header(8));
  a.push(header(9));
  const b = a.push({ type: 'exec.return', ns: 3, pid: 9, ret: 0, comm: 'b' });
  const x = a.push({ type: 'exec.return', ns: 3, pid: 8, ret: 0, comm: 'a' });
  assert.deepEqual(x?.argv, ['a0', 'a1']);
  assert.deepEqual(b?.argv, ['b0']);
});
