// Storage alone: how fast chDB (embedded, through @clickhouse/client, as the control plane writes)
// takes exec events in batches of 2,000, with no NATS, validation or detections; beside it the same
// rows without the `event` column (the full event kept as JSON), to show what that column costs.
// Interleaved repetitions in one run. Usage: node bench/insert.mjs [BATCHES] [REPS]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStorageClients } from '../control-plane/dist/store/client.js';
import { migrate } from '../control-plane/dist/store/migrations.js';
import { eventRow } from '../control-plane/dist/store/event-rows.js';
import { benchEvent } from './lib.mjs';

const BATCHES = Number(process.argv[2] ?? 60);
const REPS = Number(process.argv[3] ?? 3);
const BATCH = 2000;

async function run(withEvent) {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-insert-'));
  const ch = createStorageClients({ kind: 'embedded', dataDir: dir });
  try {
    await migrate(ch.writer);
    const batches = Array.from({ length: BATCHES }, () => Array.from({ length: BATCH }, () => benchEvent('h')));
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (const b of batches) {
      const rows = b.map((ev) => (withEvent ? eventRow(ev) : { ...eventRow(ev), event: '' }));
      await ch.writer.insert({ table: 'events', values: rows, format: 'JSONEachRow' });
    }
    const secs = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    return { rowsPerSec: (BATCH * BATCHES) / secs, cores: (cpu.user + cpu.system) / 1e6 / secs };
  } finally {
    await ch.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const out = { full: [], noEventColumn: [] };
for (let r = 0; r < REPS; r++) {
  for (const withEvent of r % 2 === 0 ? [true, false] : [false, true]) out[withEvent ? 'full' : 'noEventColumn'].push(await run(withEvent));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const summary = (xs) => ({ rowsPerSec: median(xs.map((x) => x.rowsPerSec)), min: Math.min(...xs.map((x) => x.rowsPerSec)), max: Math.max(...xs.map((x) => x.rowsPerSec)), cores: median(xs.map((x) => x.cores)) });
console.log(JSON.stringify({ batch: BATCH, batches: BATCHES, reps: REPS, full: summary(out.full), noEventColumn: summary(out.noEventColumn) }, null, 2));
