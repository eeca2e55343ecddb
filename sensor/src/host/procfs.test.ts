import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { parseCpuSeconds, readCpuSeconds, readProcState } from './procfs.js';

test('CPU seconds come from stat fields 14-17 after the last parenthesis, whatever comm holds', () => {
  // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime …
  const stat = '4242 (evil) 1 2 (x) R 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 1000 200 20 0 1 0 500 0 0\n';
  assert.deepEqual(parseCpuSeconds(stat), { self: 3, reapedChildren: 12 });
  assert.equal(parseCpuSeconds('4242 (trunc'), null);
  assert.equal(parseCpuSeconds('4242 (x) R 1 2 3'), null);
});

test('the running sensor reads its own CPU, growing', () => {
  const before = readCpuSeconds('self');
  const end = performance.now() + 60;
  while (performance.now() < end) {
    /* spin: user time */
  }
  const after = readCpuSeconds('self');
  assert.ok(before && after && after.self > before.self, `${before?.self} → ${after?.self}`);
  assert.equal(readCpuSeconds(2 ** 22 + 7), null, 'a pid that does not exist');
});

test('a process stopped by SIGSTOP reads as stopped, and running again after SIGCONT', async () => {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    await new Promise((r) => child.once('spawn', r));
    const pid = child.pid!;
    const until = async (want: string) => {
      for (let i = 0; i < 200 && readProcState(pid) !== want; i++) await new Promise((r) => setTimeout(r, 10));
      return readProcState(pid);
    };
    assert.equal(await until('S'), 'S');
    process.kill(pid, 'SIGSTOP');
    assert.equal(await until('T'), 'T');
    process.kill(pid, 'SIGCONT');
    assert.equal(await until('S'), 'S');
  } finally {
    child.kill('SIGKILL');
  }
  assert.equal(readProcState(2 ** 22 + 7), null, 'a pid that does not exist');
});
