/**
 * The GPU detections on a real trace: probes/fixtures/gpu-h100.events.json is what the sensor decoded
 * from probes/gpu.bt on an H100 while a PyTorch job started, trained and churned allocations, beside
 * four short processes that only opened the device: that host's monitoring, which runs nvidia-smi
 * through the dynamic loader (comm "ld-linux-x86-64"; argv as the exec probe recorded it there).
 * The calls are replayed as GPU events with the process each one is given here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { EventV1, ProcessV1 } from '@vigil/schema';
import { builtinEngine, gpu } from '../testing.js';

interface TraceRow {
  pid: number;
  comm: string;
  device: string;
  name: string;
  rmClassName: string | null;
  rmControl: number | null;
  calls: number;
}

const ROWS = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../../../probes/fixtures/gpu-h100.events.json', import.meta.url)), 'utf8'),
) as TraceRow[];
const JOB = ROWS.find((r) => r.comm === 'python3')!.pid;
const LOADER = '/glibc/ld-linux-x86-64.so.2';
const MONITOR = {
  exe: LOADER,
  argv: [
    LOADER,
    '--inhibit-cache',
    '--library-path',
    '/glibc:/lib64',
    '/bin/nvidia-smi',
    '--query-gpu=index,uuid,power.draw,power.limit,temperature.gpu,clocks.sm,clocks.mem,utilization.gpu',
  ],
};

function replay(procOf: (row: TraceRow) => Partial<ProcessV1>): EventV1[] {
  return ROWS.map((r) => {
    const ev = gpu(r.name, r.rmClassName, { pid: r.pid, comm: r.comm, ...procOf(r) });
    if (ev.kind === 'gpu') Object.assign(ev.gpu, { device: r.device, rmControl: r.rmControl, count: r.calls });
    return ev;
  });
}

const alertsFor = (events: EventV1[]) => {
  const { engine, alerts } = builtinEngine();
  engine.process(events);
  return alerts;
};

test('H100 trace: a training job in its venv and the loader-run device probes raise nothing', () => {
  const alerts = alertsFor(
    replay((r) => (r.pid === JOB ? { exe: '/opt/torch/.venv/bin/python3', argv: ['python3', 'train.py'] } : MONITOR)),
  );
  assert.deepEqual(
    alerts.map((a) => `${a.ruleId}: ${a.reason}`),
    [],
  );
});

test('H100 trace: the same calls from a binary in /tmp raise gpu.unexpected-process on the compute start, naming the class', () => {
  const alerts = alertsFor(
    replay((r) =>
      r.pid === JOB
        ? { exe: '/tmp/.cache/python3', argv: ['/tmp/.cache/python3', '-c', 'import torch'] }
        : { exe: '/tmp/.cache/probe', argv: ['/tmp/.cache/probe'] },
    ),
  );
  const gpuAlerts = alerts.filter((a) => a.ruleId === 'gpu.unexpected-process');
  assert.ok(gpuAlerts.length >= 1);
  assert.ok(
    gpuAlerts.every((a) => a.severity === 'critical'),
    'a writable place ranks critical',
  );
  assert.ok(
    gpuAlerts.every((a) => new RegExp(`\\(pid ${JOB}\\)`).test(a.reason)),
    'the device probes started no compute: only the job is named',
  );
  assert.ok(
    gpuAlerts.some((a) => /HOPPER_(COMPUTE|CHANNEL_GPFIFO)_A|CHANNEL_GROUP|UVM_REGISTER_CHANNEL/.test(a.reason)),
    gpuAlerts.map((a) => a.reason).join('\n'),
  );
  // The compute is allocated through /dev/nvidiactl; the GPU is the one whose node the job used.
  assert.ok(
    gpuAlerts.every((a) => a.reason.includes('GPU /dev/nvidia0;')),
    gpuAlerts.map((a) => a.reason).join('\n'),
  );
});

test('H100 trace: the job run through the dynamic loader from /tmp is seen as the program it runs', () => {
  const alerts = alertsFor(
    replay((r) =>
      r.pid === JOB
        ? { exe: LOADER, argv: [LOADER, '--argv0', 'python3', '/tmp/.cache/python3', 'train.py'] }
        : MONITOR,
    ),
  );
  const gpuAlerts = alerts.filter((a) => a.ruleId === 'gpu.unexpected-process');
  assert.ok(gpuAlerts.length >= 1, 'the loader is installed software; what it runs is not');
  assert.ok(
    gpuAlerts.every((a) => a.reason.startsWith(`/tmp/.cache/python3 (pid ${JOB})`)),
    gpuAlerts.map((a) => a.reason).join('\n'),
  );
});
