// The sensor's user-space cost per record: bpftrace JSON lines of fork+exec+exit cycles (as the exec
// storm makes them) through parse → decode → process cache → events → batch encoding, in one thread,
// with no bpftrace, NATS or control plane. Usage: node bench/sensor-path.mjs [cycles]
import { parseBpftraceLine } from '../sensor/dist/decode/bpftrace-output.js';
import { PROBES, BPFTRACE_STRLEN } from '../sensor/dist/probes/registry.js';
import { ProcessCache } from '../sensor/dist/process/cache.js';
import { GpuDeviceMap } from '../sensor/dist/gpu/devices.js';
import { EventBuilder } from '../sensor/dist/assemble/event-builder.js';
import { KtimeClock } from '../sensor/dist/assemble/clock.js';
import { Counters } from '../sensor/dist/counters.js';

const N = Number(process.argv[2] ?? 20_000);
const cache = new ProcessCache();
cache.seedFromProc([process.pid, process.ppid, 1]);
const builder = new EventBuilder('bench', cache, new GpuDeviceMap({ nvidia: -1, nvidiaUvm: -1, kfd: -1, drm: -1 }, []), new KtimeClock(), new Counters(), BPFTRACE_STRLEN - 1);
const owner = { 1: 'exec', 2: 'exec', 3: 'exec', 4: 'exec', 10: 'proc', 11: 'proc' };
const lines = [];
let ns = 1_000_000_000;
for (let i = 0; i < N; i++) {
  const pid = 3_000_000 + i;
  const j = (a) => `{"type": "value", "data": ${JSON.stringify(a)}}`;
  lines.push(j([10, ns++, process.pid, pid, 0, 1, 'storm']), j([1, ns++, pid, 0, 'true']), j([4, ns++, pid, '/bin/true']),
    j([2, ns++, pid, pid, process.pid, 0, 0, 1, 'storm', 0]), j([3, ns++, pid, 0, 'true']), j([11, ns++, pid, 0, 'true']));
}
let events = 0;
let bytes = 0;
const t0 = performance.now();
for (const line of lines) {
  const out = parseBpftraceLine(line);
  const d = PROBES[owner[out.data[0]]].decode(out.data);
  for (const ev of builder.onRecord(d.data)) { events++; bytes += JSON.stringify(ev).length; }
}
const us = (performance.now() - t0) * 1000;
console.log(JSON.stringify({ cycles: N, records: lines.length, events, usPerRecord: us / lines.length, usPerExecCycle: us / N, avgEventBytes: bytes / events }, null, 2));
