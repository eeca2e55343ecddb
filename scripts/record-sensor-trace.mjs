// Records the real sensor's events on a GPU host into test/fixtures/sensor-<name>.events.ndjson:
// `vigil sensor`'s code (all four probes, one bpftrace) runs with NATS away, so every event lands in
// its disk spool; under it, a training job (the image's python) and a hijack (the same interpreter
// copied to /tmp/.cache, run from a shell) make CUDA calls. Kept: the two interpreters' execs, exits
// and first GPU event per (device, call, class), and their shells' execs.
// Usage (root, on a GPU host, after `npm run build`):
//   node scripts/record-sensor-trace.mjs NAME                 record, then select
//   node scripts/record-sensor-trace.mjs NAME --from FILE     select from events already recorded
// BPFTRACE names the bpftrace binary; PYTHON the job's interpreter (default python3).
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startSensor } from '../sensor/dist/index.js';

const [name, flag, from] = process.argv.slice(2);
if (!name) throw new Error('usage: record-sensor-trace.mjs NAME [--from FILE]');
const repo = new URL('..', import.meta.url).pathname;
const py = process.env.PYTHON ?? 'python3';

async function record() {
  const spoolDir = mkdtempSync(join(tmpdir(), 'vigil-spool-'));
  const log = pino({ level: 'info' }, pino.destination(2));
  const sensor = await startSensor({
    hostId: name,
    nats: { servers: 'nats://127.0.0.1:1' },
    spoolDir,
    bpftrace: process.env.BPFTRACE,
    log,
    maxQueue: 2_000_000,
  });
  // Asynchronously: the sensor runs in this process, and its event loop must keep reading bpftrace.
  const sh = (script) =>
    new Promise((resolve) =>
      spawn('bash', ['-c', script], { stdio: 'inherit', env: { ...process.env, REPO: repo, PY: py } }).on(
        'exit',
        resolve,
      ),
    );
  await new Promise((r) => setTimeout(r, 2000));
  await sh('cd /tmp && "$PY" "$REPO/scripts/cuda-job.py" 2 trace | tail -1');
  await sh(`set -e; REAL=$("$PY" -c 'import os,sys;print(os.path.realpath(sys.executable))'); BASE=$("$PY" -c 'import sys;print(sys.base_prefix)'); SP=$("$PY" -c 'import site;print(site.getsitepackages()[0])')
    mkdir -p /tmp/.cache && cp "$REAL" /tmp/.cache/python3 && cd /tmp && PYTHONHOME="$BASE" PYTHONPATH="$SP" /tmp/.cache/python3 "$REPO/scripts/cuda-job.py" 2 bench | tail -1`);
  await new Promise((r) => setTimeout(r, 7000)); // two GPU windows, and the last flushes
  await sensor.stop(); // NATS never answered: everything is in the spool now
  return readdirSync(spoolDir)
    .sort()
    .flatMap((f) =>
      readFileSync(join(spoolDir, f), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
    );
}

const events =
  flag === '--from'
    ? readFileSync(from, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
    : await record();
const interpreters = new Set(
  events
    .filter((e) => e.kind === 'exec' && e.exec.ret === 0 && e.exec.argv.some((a) => a.endsWith('/scripts/cuda-job.py')))
    .map((e) => e.proc.pid),
);
const shells = new Set(events.filter((e) => interpreters.has(e.proc.pid)).map((e) => e.proc.ancestry[0]?.pid));
const seen = new Set();
const kept = events.filter((e) => {
  const pid = e.proc.pid;
  if (e.kind === 'gpu') {
    const key = [pid, e.gpu.device, e.gpu.name, e.gpu.rmClassName].join('|');
    if (!interpreters.has(pid) || seen.has(key)) return false;
    seen.add(key);
    return true;
  }
  if (e.kind === 'exec') return e.exec.ret === 0 && (interpreters.has(pid) || shells.has(pid));
  return e.kind === 'exit' && interpreters.has(pid);
});
const out = join(repo, 'test', 'fixtures', `sensor-${name}.events.ndjson`);
writeFileSync(out, `${kept.map((e) => JSON.stringify(e)).join('\n')}\n`);
process.stderr.write(`${out}: ${kept.length} of ${events.length} events\n`);
