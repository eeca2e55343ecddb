// The sensor's user-space cost per fork+exec+exit cycle: bpftrace JSON output as exec.bt and proc.bt
// print it during an exec storm (each flush: the maps, then the end-of-flush record) through parse →
// batch decode → merge → process cache → events → JSON, in one thread, with no bpftrace, NATS or
// control plane. Usage: node bench/sensor-path.mjs [cycles] [cycles-per-flush]
import { parseBpftraceLine } from '../sensor/dist/decode/bpftrace-output.js';
import { PROBES, BPFTRACE_STRLEN } from '../sensor/dist/probes/registry.js';
import { ProcessCache } from '../sensor/dist/process/cache.js';
import { GpuDeviceMap } from '../sensor/dist/gpu/devices.js';
import { EventBuilder } from '../sensor/dist/assemble/event-builder.js';
import { BatchCollector, BatchMerger } from '../sensor/dist/assemble/batch.js';
import { KtimeClock } from '../sensor/dist/assemble/clock.js';
import { Counters } from '../sensor/dist/counters.js';

const N = Number(process.argv[2] ?? 20_000);
// About what one 50 ms flush holds during the storm (~1,300 cycles/s).
const PER_FLUSH = Number(process.argv[3] ?? 64);
const cache = new ProcessCache();
cache.seedFromProc([process.pid, process.ppid, 1]);
const builder = new EventBuilder(
  'bench',
  cache,
  new GpuDeviceMap({ nvidia: -1, nvidiaUvm: -1, kfd: -1, drm: -1 }, []),
  new KtimeClock(),
  new Counters(),
  BPFTRACE_STRLEN - 1,
);
const lines = [];
let ns = 1_000_000_000;
const map = (name, entries) =>
  `{"type": "map", "data": {"${name}": {${entries.map(([k, v]) => `"${k}": ${JSON.stringify(v)}`).join(', ')}}}}`;
const value = (a) => `{"type": "value", "data": ${JSON.stringify(a)}}`;
for (let f = 0; f < N / PER_FLUSH; f++) {
  const e = f % 2;
  const forks = [],
    exits = [],
    heads = [],
    args = [];
  for (let i = 0; i < PER_FLUSH; i++) {
    const pid = 3_000_000 + f * PER_FLUSH + i;
    forks.push([`${pid},${ns++}`, [process.pid, 0, 1, 'storm']]);
    const execNs = ns++;
    heads.push([`${pid},${execNs}`, [pid, process.pid, 0, 0, 1, 'true', 1, '/bin/true']]);
    args.push([`${pid},${execNs},0`, 'true']);
    exits.push([`${pid},${ns++}`, [0, 'true']]);
  }
  const mark = ns++;
  lines.push(
    ['exec', map(`@exec_head${e}`, heads)],
    ['exec', map(`@exec_arg${e}`, args)],
    ['exec', map(`@exec_sent${e}`, [['1', PER_FLUSH]])],
    ['exec', value([5, mark])],
    ['proc', map(`@proc_fork${e}`, forks)],
    ['proc', map(`@proc_exit${e}`, exits)],
    [
      'proc',
      map(`@proc_sent${e}`, [
        ['10', PER_FLUSH],
        ['11', PER_FLUSH],
      ]),
    ],
    ['proc', value([12, mark])],
  );
}
const collectors = { exec: new BatchCollector(), proc: new BatchCollector() };
const merger = new BatchMerger(() => ['exec', 'proc']);
let events = 0;
let bytes = 0;
let lost = 0;
const t0 = performance.now();
for (const [name, line] of lines) {
  const out = parseBpftraceLine(line);
  if (out.type === 'map') {
    for (const [m, data] of Object.entries(out.data)) collectors[name].push(m, data);
    continue;
  }
  const spec = PROBES[name];
  const flush = spec.decode(out.data);
  const res = spec.batch.decode(collectors[name].end(), collectors[name].before);
  lost += res.lost;
  for (const ev of builder.onRecords(merger.add(name, res.records, flush.data.ns))) {
    events++;
    bytes += JSON.stringify(ev).length;
  }
}
const us = (performance.now() - t0) * 1000;
const cycles = Math.ceil(N / PER_FLUSH) * PER_FLUSH;
if (lost !== 0 || events !== 2 * cycles)
  throw new Error(`expected ${2 * cycles} events and nothing lost, got ${events} and ${lost}`);
console.log(
  JSON.stringify(
    {
      cycles,
      perFlush: PER_FLUSH,
      lines: lines.length,
      events,
      usPerExecCycle: us / cycles,
      avgEventBytes: bytes / events,
    },
    null,
    2,
  ),
);
