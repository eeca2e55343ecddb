// Storage alone: how fast chDB (embedded, through @clickhouse/client) takes exec events in batches of
// 2,000, with no NATS, validation or detections, two ways side by side: as the control plane stores
// them (the event's JSON only, one per line; the table derives every other column from it, migrations
// 0004-0005), and the way it did before, every column built in JavaScript and sent as JSONEachRow
// (the event JSON escaped inside it). The control plane's main thread is its bottleneck
// (bench/ingest.mjs), so beside the rate and the cores this reports that thread's busy time per row.
// Interleaved repetitions in one run. Usage: node bench/insert.mjs [BATCHES] [REPS]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStorageClients } from '../control-plane/dist/store/client.js';
import { migrate } from '../control-plane/dist/store/migrations.js';
import { insertEvents } from '../control-plane/dist/store/event-insert.js';
import { benchEvent, median, rotated, spread } from './lib.mjs';

const BATCHES = Number(process.argv[2] ?? 60);
const REPS = Number(process.argv[3] ?? 3);
const BATCH = 2000;

/** The row the control plane built per event before the table derived its columns. */
const builtRow = (ev) => ({
  id: ev.id,
  host: ev.host,
  ts: ev.ts,
  kind: ev.kind,
  pid: ev.proc.pid,
  ppid: ev.proc.ppid,
  uid: ev.proc.uid,
  comm: ev.proc.comm,
  exe: ev.kind === 'exec' ? ev.exec.filename : ev.proc.exe,
  argv: ev.kind === 'exec' ? ev.exec.argv : ev.proc.argv,
  container_id: ev.proc.containerId ?? '',
  job: ev.proc.job ?? '',
  daddr: '',
  dport: 0,
  gpu_device: '',
  gpu_ioctl: '',
  gpu_class: 0,
  event_count: 1,
  event: JSON.stringify(ev),
});

const WAYS = {
  derived: (ch, b) => insertEvents(ch, b),
  builtInJs: (ch, b) => ch.insert({ table: 'events', values: b.map(builtRow), format: 'JSONEachRow' }),
};

async function run(way) {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-insert-'));
  const ch = createStorageClients({ kind: 'embedded', dataDir: dir });
  try {
    await migrate(ch.writer);
    const batches = Array.from({ length: BATCHES }, () => Array.from({ length: BATCH }, () => benchEvent('h')));
    const cpu0 = process.cpuUsage();
    const elu0 = performance.eventLoopUtilization();
    const t0 = performance.now();
    for (const b of batches) await WAYS[way](ch.writer, b);
    const secs = (performance.now() - t0) / 1000;
    const elu = performance.eventLoopUtilization(elu0);
    const cpu = process.cpuUsage(cpu0);
    const rows = BATCH * BATCHES;
    return {
      rowsPerSec: rows / secs,
      cores: (cpu.user + cpu.system) / 1e6 / secs,
      mainUsPerRow: (elu.active * 1000) / rows,
    };
  } finally {
    await ch.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const out = await rotated(REPS, { derived: 'derived', builtInJs: 'builtInJs' }, run);
const summary = (xs) => {
  const rate = spread(xs.map((x) => x.rowsPerSec));
  const main = spread(xs.map((x) => x.mainUsPerRow));
  return {
    rowsPerSec: rate.median,
    min: rate.min,
    max: rate.max,
    cores: median(xs.map((x) => x.cores)),
    mainUsPerRow: main.median,
    mainUsPerRowMin: main.min,
    mainUsPerRowMax: main.max,
  };
};
console.log(
  JSON.stringify(
    { batch: BATCH, batches: BATCHES, reps: REPS, derived: summary(out.derived), builtInJs: summary(out.builtInJs) },
    null,
    2,
  ),
);
