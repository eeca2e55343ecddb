// Overhead of the whole sensor on real training, on a GPU host (root, PyTorch with CUDA, after
// `npm run build`). `vigil sensor` as a user runs it (node, one bpftrace with all four probes,
// publishing to a local nats-server with JetStream) against no sensor at all, interleaved and rotated
// (A B, B A, ...), for two shapes of scripts/cuda-job.py: a small launch-bound loop (host CPU matters
// most) and a GPU-bound bf16 loop (what training mostly is). bench/gpu-host.py measures bpftrace alone.
//
//   node bench/gpu-sensor.mjs [REPS] [SECONDS] [WORKLOADS] > bench/results/gpu-sensor.json
//
// WORKLOADS: bench,big (default), or one of them for more repetitions of a noisy shape.
//
// PYTHON: the interpreter with PyTorch (default python3); NATS_SERVER: the nats-server binary
// (default nats-server); BPFTRACE: the bpftrace binary. Each sensor run starts a fresh sensor, waits
// for every probe, runs the job, then reads the sensor's heartbeat: events published, lost, rejected.
import { execFile } from 'node:child_process';
import { cpus, release } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CLI, SENSOR_ENV, median, scratchDir, startNats, startProcess, usage, waitFor } from './lib.mjs';

const REPS = Number(process.argv[2] ?? 3);
const SECS = String(process.argv[3] ?? 8);
const WORKLOADS = (process.argv[4] ?? 'bench,big').split(',');
const python = process.env.PYTHON ?? 'python3';
const job = new URL('../scripts/cuda-job.py', import.meta.url).pathname;
const run = promisify(execFile);

const dir = scratchDir('vigil-gpu-sensor-');
// The sensor only publishes: the stream is created here, as the control plane would.
const nats = await startNats(dir, { stream: true, bin: process.env.NATS_SERVER ?? 'nats-server' });
const { url, nc } = nats;
let hb = null;
nc.subscribe('vigil.sensor.gpu-bench.heartbeat', {
  callback: (_e, m) => {
    hb = m.json();
  },
});

async function steps(mode) {
  const { stdout } = await run(python, [job, SECS, mode], { maxBuffer: 1 << 20 });
  return Number(/steps_per_s ([\d.]+)/.exec(stdout)[1]);
}

async function withSensor(mode) {
  hb = null;
  const sensor = startProcess(
    process.execPath,
    [CLI, 'sensor', '--nats', url, '--host-id', 'gpu-bench', '--spool-dir', join(dir, 'spool')],
    SENSOR_ENV,
  );
  try {
    const probes = await waitFor(
      'every probe running',
      async () => {
        const ps = hb?.probes ?? [];
        return ps.length > 0 && ps.every((p) => p.state === 'running' || p.state === 'skipped') ? ps : null;
      },
      120_000,
      200,
    );
    const before = hb.counters;
    const u0 = usage(sensor.child.pid);
    const t0 = performance.now();
    const rate = await steps(mode);
    const secs = (performance.now() - t0) / 1000;
    const u1 = usage(sensor.child.pid);
    const seen = hb.ts;
    await waitFor('a heartbeat after the job', async () => hb.ts !== seen, 15_000, 100);
    const after = hb.counters;
    return {
      stepsPerS: rate,
      sensorCores: (u1.cpu - u0.cpu) / secs,
      sensorRssMiB: u1.rss / 2 ** 20,
      sensorPssMiB: u1.pss / 2 ** 20,
      eventsPublished: after.eventsPublished - before.eventsPublished,
      lostEvents: after.lostEvents,
      eventsDropped: after.eventsDropped,
      rejects: after.rejects,
      probes: Object.fromEntries(probes.map((p) => [p.name, p.state])),
    };
  } finally {
    await sensor.stop();
  }
}

const runs = [];
for (let rep = 0; rep < REPS; rep++) {
  for (const mode of WORKLOADS) {
    const order = rep % 2 === 0 ? ['none', 'sensor'] : ['sensor', 'none'];
    for (const condition of order) {
      const r = condition === 'none' ? { stepsPerS: await steps(mode) } : await withSensor(mode);
      runs.push({ rep, workload: mode, condition, ...r });
      process.stderr.write(`${JSON.stringify(runs.at(-1))}\n`);
    }
  }
}
await nats.stop();

const summary = {};
for (const mode of WORKLOADS) {
  const rate = (c) => median(runs.filter((r) => r.workload === mode && r.condition === c).map((r) => r.stepsPerS));
  const traced = runs.filter((r) => r.workload === mode && r.condition === 'sensor');
  summary[mode] = {
    noneStepsPerS: rate('none'),
    sensorStepsPerS: rate('sensor'),
    overhead: 1 - rate('sensor') / rate('none'),
    sensorCores: median(traced.map((r) => r.sensorCores)),
    sensorRssMiB: median(traced.map((r) => r.sensorRssMiB)),
    // Each repetition's pair, sensor against none: the launch-bound loop drifts between repetitions.
    pairedOverheads: traced.map(
      (t) =>
        1 - t.stepsPerS / runs.find((r) => r.rep === t.rep && r.workload === mode && r.condition === 'none').stepsPerS,
    ),
  };
}
let gpu = '';
try {
  gpu = (await run('nvidia-smi', ['--query-gpu=name,driver_version', '--format=csv,noheader'])).stdout.trim();
} catch {
  /* no nvidia-smi */
}
console.log(
  JSON.stringify(
    {
      when: new Date().toISOString(),
      command: `node bench/gpu-sensor.mjs ${REPS} ${SECS} ${WORKLOADS.join(',')}`,
      result: {
        host: { gpu, kernel: release(), cpus: cpus().length, bpftrace: process.env.BPFTRACE ?? 'bpftrace' },
        summary,
        runs,
      },
    },
    null,
    2,
  ),
);
