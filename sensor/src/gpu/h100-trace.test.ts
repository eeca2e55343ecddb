/**
 * A real GPU trace: probes/fixtures/gpu-h100.ndjson is what probes/gpu.bt printed on an NVIDIA H100
 * (driver 580.159.04, kernel 6.18) while a PyTorch job created its CUDA context, trained, and churned
 * allocations (scripts/record-gpu-trace.sh). It is decoded here the way the sensor decodes it, and
 * the result is kept as probes/fixtures/gpu-h100.events.json, which the control plane's detection
 * tests replay. `VIGIL_UPDATE_FIXTURES=1` rewrites that file after a deliberate decoder change.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EventV1 } from '@vigil/schema';
import { parseBpftraceLine } from '../decode/bpftrace-output.js';
import { isReadyRecord } from '../decode/records.js';
import { PROBES } from '../probes/registry.js';
import { DEFAULT_PROBES_DIR } from '../sensor.js';
import { EventBuilder, windowRecord } from '../assemble/event-builder.js';
import { WindowCollector } from '../assemble/window.js';
import { KtimeClock } from '../assemble/clock.js';
import { ProcessCache } from '../process/cache.js';
import { Counters } from '../counters.js';
import { GpuDeviceMap, NO_MAJOR } from './devices.js';
import { NVIDIA_RM_CLASS } from './ioctl-names.js';
import { scratchDir } from '../testing/scratch-dir.js';

const FIXTURES = join(DEFAULT_PROBES_DIR, 'fixtures');
/** Majors of that host's /proc/devices: nvidia 195, nvidia-uvm 238; no AMD, no DRM. */
const MAJORS = { nvidia: 195, nvidiaUvm: 238, kfd: NO_MAJOR, drm: NO_MAJOR };

/** One row per distinct call of a process: what the detections see, without ids and clocks. */
interface TraceRow {
  pid: number;
  comm: string;
  device: string;
  name: string;
  rmClassName: string | null;
  rmControl: number | null;
  calls: number;
}

function decodeTrace(): { rows: TraceRow[]; counters: Counters; lines: number } {
  const counters = new Counters();
  const cache = new ProcessCache({ procRoot: scratchDir('noproc') });
  const devices = new GpuDeviceMap(MAJORS, [], scratchDir('nodev'));
  const builder = new EventBuilder('h100', cache, devices, new KtimeClock(), counters, 64);
  const windows = new WindowCollector('gpu');
  const comms = new Map<number, string>();
  const rows = new Map<string, TraceRow>();
  const add = (events: EventV1[]) => {
    for (const ev of events) {
      assert.ok(EventV1.safeParse(ev).success, `event fails the v1 contract: ${JSON.stringify(ev)}`);
      assert.equal(ev.kind, 'gpu');
      if (ev.kind !== 'gpu') continue;
      if (ev.proc.comm) comms.set(ev.proc.pid, ev.proc.comm);
      const { name, rmClassName, rmControl, device } = ev.gpu;
      const key = [ev.proc.pid, device, name, rmClassName, rmControl].join('|');
      const row = rows.get(key) ?? { pid: ev.proc.pid, comm: '', device, name, rmClassName, rmControl, calls: 0 };
      row.calls += ev.gpu.count;
      rows.set(key, row);
    }
  };
  const lines = readFileSync(join(FIXTURES, 'gpu-h100.ndjson'), 'utf8').split('\n').filter(Boolean);
  for (const line of lines) {
    const out = parseBpftraceLine(line);
    if (out.type === 'value') {
      if (isReadyRecord(out.data)) continue;
      const d = PROBES.gpu.decode(out.data as unknown[]);
      assert.ok(d.success, `record does not decode: ${line}`);
      add(builder.onRecords([d.data]));
    } else if (out.type === 'map') {
      for (const [name, data] of Object.entries(out.data as Record<string, Record<string, number>>)) {
        const entries = windows.push(name, data);
        const r = entries && windowRecord('gpu.window', entries);
        if (r) add(builder.onRecords([r]));
      }
    } else {
      assert.equal(out.type, 'attached_probes', `unexpected line ${line}`);
    }
  }
  // Window rows carry no comm of their own (the process table supplies it live); take the first record's.
  for (const row of rows.values()) row.comm = comms.get(row.pid) ?? '';
  return { rows: [...rows.values()], counters, lines: lines.length };
}

test('H100 trace: every line decodes into v1 GPU events, nothing rejected', () => {
  const { rows, counters, lines } = decodeTrace();
  assert.ok(lines > 300);
  assert.deepEqual(counters.rejectsObject(), {});
  assert.equal(new Set(rows.map((r) => r.pid)).size, 5, 'the job and the four processes that probed the GPU beside it');
  // Every call is in the events exactly once: a first-seen record, or a count in one window's map.
  let printed = 0;
  for (const line of readFileSync(join(FIXTURES, 'gpu-h100.ndjson'), 'utf8').split('\n').filter(Boolean)) {
    const j = JSON.parse(line) as { type: string; data: unknown };
    if (j.type === 'value' && (j.data as number[])[0] === 30) printed += 1;
    if (j.type === 'map')
      for (const [m, v] of Object.entries(j.data as Record<string, Record<string, number>>))
        if (/^@gpu_count[01]$/.test(m)) printed += Object.values(v).reduce((a, b) => a + b, 0);
  }
  const calls = rows.reduce((n, r) => n + r.calls, 0);
  assert.equal(calls, printed);
  assert.ok(calls > 10 * lines, `${calls} ioctls in ${lines} lines: repeats are counted in the kernel, not printed`);
});

test('H100 trace: every request and RM class a real CUDA job makes has a name', () => {
  const { rows } = decodeTrace();
  const unnamed = rows.filter((r) => /0x/.test(r.name) || (r.name === 'NV_ESC_RM_ALLOC' && r.rmClassName === null));
  assert.deepEqual(unnamed, [], 'add these to gpu/ioctl-names.ts (check the numbers in the open modules first)');
  // That host's nodes, named as the drivers name them (this machine has none of them in /dev).
  assert.deepEqual([...new Set(rows.map((r) => r.device))].sort(), [
    '/dev/nvidia-uvm',
    '/dev/nvidia0',
    '/dev/nvidiactl',
  ]);
});

test('H100 trace: the job starts compute (channel, compute class, UVM channel); the loader-run probes only open the device', () => {
  const { rows } = decodeTrace();
  const kindOf = new Map(Object.values(NVIDIA_RM_CLASS).map((c) => [c.name, c.kind]));
  const kinds = (pid: number) =>
    new Set(rows.filter((r) => r.pid === pid && r.rmClassName).map((r) => kindOf.get(r.rmClassName!)));
  const job = rows.find((r) => r.comm === 'python3')!.pid;
  const jobRows = rows.filter((r) => r.pid === job);
  for (const cls of [
    'NV01_ROOT',
    'NV01_DEVICE_0',
    'FERMI_VASPACE_A',
    'KEPLER_CHANNEL_GROUP_A',
    'HOPPER_CHANNEL_GPFIFO_A',
    'HOPPER_COMPUTE_A',
    'HOPPER_DMA_COPY_A',
  ]) {
    assert.ok(
      jobRows.some((r) => r.rmClassName === cls),
      `the job allocates ${cls}`,
    );
  }
  assert.ok(jobRows.some((r) => r.name === 'UVM_REGISTER_CHANNEL'));
  // Allocation churn shows as counted repeats, not as one event per call.
  const local = jobRows.find((r) => r.rmClassName === 'NV01_MEMORY_LOCAL_USER')!;
  assert.ok(local.calls > 100, `NV01_MEMORY_LOCAL_USER allocated ${local.calls} times`);

  const probes = [...new Set(rows.filter((r) => r.comm === 'ld-linux-x86-64').map((r) => r.pid))];
  assert.equal(probes.length, 4);
  for (const pid of probes) {
    assert.deepEqual(
      [...kinds(pid)].sort(),
      ['client', 'device', 'other'],
      `pid ${pid} allocates no channel or compute class`,
    );
    assert.ok(!rows.some((r) => r.pid === pid && r.name === 'UVM_REGISTER_CHANNEL'));
  }
});

test('H100 trace: the decoded trace the control plane replays is what the decoder makes of the recording', () => {
  const { rows } = decodeTrace();
  const file = join(FIXTURES, 'gpu-h100.events.json');
  const text = `${JSON.stringify(rows, null, 0).replace(/\},\{/g, '},\n{')}\n`;
  if (process.env.VIGIL_UPDATE_FIXTURES === '1') writeFileSync(file, text);
  assert.deepEqual(
    JSON.parse(readFileSync(file, 'utf8')),
    rows,
    'rerun with VIGIL_UPDATE_FIXTURES=1 after a deliberate decoder change',
  );
});
