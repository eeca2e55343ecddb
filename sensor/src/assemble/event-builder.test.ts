import { test } from 'node:test';
import assert from 'node:assert/strict';
import { realpathSync } from 'node:fs';
import { EventBuilder, windowRecord, type DecodedRecord } from './event-builder.js';
import { BatchMerger } from './batch.js';
import { KtimeClock } from './clock.js';
import { ProcessCache } from '../process/cache.js';
import { GpuDeviceMap, kdev } from '../gpu/devices.js';
import { Counters } from '../counters.js';
import type { ExecDone } from '../decode/exec.js';

const builder = () =>
  new EventBuilder(
    'test',
    new ProcessCache(),
    new GpuDeviceMap({ nvidia: -1, nvidiaUvm: -1, kfd: -1, drm: -1 }, []),
    new KtimeClock(),
    new Counters(),
    199,
  );
// This process stands for the exec'd one: it is alive, so /proc shows node's binary as its image.
const exec = (ns: number, filename: string): ExecDone => ({
  type: 'exec.done',
  ns,
  pid: process.pid,
  tid: process.pid,
  ppid: process.ppid,
  uid: 0,
  gid: 0,
  cgroupId: 0,
  comm: 'x',
  filename,
  argv: [filename],
  argvTruncated: false,
  ret: 0,
});

test('a flushed exec reads its image from /proc only while the process is still in it', () => {
  const node = realpathSync(process.execPath);
  const live = builder();
  const [ev] = live.onRecords([exec(100, '/usr/bin/env')]);
  assert.equal(ev?.proc.exe, node, 'the last exec of a running process: /proc/<pid>/exe is its image');

  // sh -c 'exec miner' in one flush: the first image is gone when the sensor reads the flush, and
  // /proc would name the second one.
  const twice = builder();
  const [first, second] = twice.onRecords([exec(100, '/opt/vigil-test/sh'), exec(200, '/usr/bin/env')]);
  assert.equal(first?.proc.exe, '/opt/vigil-test/sh', 'superseded by a later exec: the filename, not /proc');
  assert.equal(second?.proc.exe, node);

  const exited = builder();
  const [gone] = exited.onRecords([
    exec(100, '/tmp/miner'),
    { type: 'proc.exit', ns: 150, pid: process.pid, code: 0, signal: null, comm: 'miner' },
  ]);
  assert.equal(gone?.proc.exe, '/tmp/miner', 'exited in the same flush: /proc is not read');

  const reused = builder();
  const [, after] = reused.onRecords([
    { type: 'proc.exit', ns: 50, pid: process.pid, code: 0, signal: null, comm: 'old' },
    exec(100, '/usr/bin/env'),
  ]);
  assert.equal(after?.proc.exe, node, 'an exit before the exec (pid reused) does not supersede it');
});

test('a GPU window waits in the merger for the exec before it: a process gone by then keeps its image', () => {
  const gone = 4_194_000; // no such pid: /proc cannot fill in what the table lacks
  const b = builder();
  const merger = new BatchMerger<DecodedRecord>(
    () => ['exec'],
    60_000,
    () => 0,
  );
  merger.add('exec', [], 50); // the exec probe's last flush covered everything before ns 50
  const execRec: ExecDone = { ...exec(100, '/tmp/.cache/python3'), pid: gone, tid: gone };
  // Printed at the window's tick: the exec above is still in the exec probe's maps, not yet flushed.
  const window = windowRecord('gpu.window', [
    { key: `${gone},${kdev(195, 255)},3224381995,0,52160`, count: 7, firstNs: 120, lastNs: 900 },
  ]);
  assert.ok(window);
  assert.deepEqual(merger.hold([window]), [], 'held: the exec probe has not flushed past it');
  const released = merger.add('exec', [execRec], 1000);
  assert.deepEqual(
    released.map((r) => r.type),
    ['exec.done', 'gpu.window'],
    'in kernel-time order',
  );
  const events = b.onRecords(released);
  const gpuEv = events.find((e) => e.kind === 'gpu');
  assert.equal(gpuEv?.proc.exe, '/tmp/.cache/python3');
  assert.equal(gpuEv?.kind === 'gpu' ? gpuEv.gpu.count : 0, 7);
  assert.equal(windowRecord('gpu.window', []), null, 'an empty window is nothing to hold');
});
