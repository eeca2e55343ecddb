// `npm run bench`: runs the benchmarks and writes BENCHMARKS.md with each figure and its command.
// Root required (the sensor runs real bpftrace).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

const cmd = 'node bench/exec-to-query.mjs 100';
const out = JSON.parse(execFileSync(process.execPath, ['bench/exec-to-query.mjs', '100'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
const when = new Date().toISOString();
const md = `# Benchmarks

Written by \`npm run bench\` on ${when}: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB,
Node ${process.version}. Everything real: bpftrace probes on the live kernel, nats-server with
JetStream, chDB behind @clickhouse/client.

## Exec → queryable

\`${cmd}\`: \`vigil up\` on this host; ${out.trials} times, exec \`/bin/true <unique>\` and poll the API
(\`GET /api/v1/events\`, every 10 ms) until the event is there. Includes the exec probe, the sensor,
JetStream, the control plane's batch linger (50 ms) and the insert into chDB.

| p50 | p90 | p99 | max |
| --- | --- | --- | --- |
| ${out.execToQueryMs.p50} ms | ${out.execToQueryMs.p90} ms | ${out.execToQueryMs.p99} ms | ${out.execToQueryMs.max} ms |

## Idle

Same run, then ${out.idle.seconds} s with nothing started by the benchmark: ${out.idle.eventsPerSec} events/s published,
${out.idle.probeRecordsPerSec} probe records/s read (from two sensor heartbeats).

## Not measured yet

Exec, connect and ioctl storms against no tracer and auditd; pipeline capacity; detection latency;
query latency over 10 M events; footprint (issue 4).
`;
writeFileSync(new URL('../BENCHMARKS.md', import.meta.url), md);
console.log(md);
