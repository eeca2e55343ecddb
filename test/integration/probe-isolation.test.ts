/**
 * The probes run composed in one bpftrace process; when that program does not load (one probe broken
 * on this kernel), each probe runs in its own process so only the broken one stays down.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pino } from 'pino';
import { startSensor, DEFAULT_PROBES_DIR } from '@vigil/sensor';
import { freePort, tempDir, waitFor } from '../support/harness.js';

test('a probe that cannot load does not blind the others: the composed program falls back to one process per probe', {
  timeout: 180_000,
}, async () => {
  const dir = tempDir('probes');
  cpSync(DEFAULT_PROBES_DIR, dir, { recursive: true });
  // A tracepoint no kernel has: bpftrace refuses the whole program that contains it.
  const gpu = join(dir, 'gpu.bt');
  writeFileSync(
    gpu,
    readFileSync(gpu, 'utf8').replace(
      'tracepoint:syscalls:sys_enter_ioctl',
      'tracepoint:syscalls:sys_enter_vigil_no_such_call',
    ),
  );
  const node = join(dir, 'nvidiactl');
  execFileSync('mknod', [node, 'c', '1', '7']);
  const sensor = await startSensor({
    nats: { servers: `nats://127.0.0.1:${await freePort()}`, reconnect: false },
    probesDir: dir,
    gpuDevices: [{ path: node, driver: 'nvidia' }],
    log: pino({ level: 'silent' }),
  });
  try {
    const hb = sensor.heartbeat();
    const state = Object.fromEntries(hb.probes.map((p) => [p.name, p]));
    for (const name of ['exec', 'proc', 'connect']) assert.equal(state[name]!.state, 'running', `${name} runs`);
    assert.notEqual(state.gpu!.state, 'running');
    assert.match(state.gpu!.lastError ?? '', /sys_enter_vigil_no_such_call|bpftrace exited/);
    const pids = new Set(['exec', 'proc', 'connect'].map((n) => state[n]!.pid));
    assert.equal(pids.size, 3, 'each in its own bpftrace');
    await waitFor(
      'the broken probe keeps being retried',
      () => sensor.heartbeat().probes.find((p) => p.name === 'gpu')!.restarts >= 1,
      30_000,
    );
  } finally {
    await sensor.stop();
  }
});
