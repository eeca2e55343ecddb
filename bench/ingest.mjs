// Benchmark 4: pipeline capacity NATS → control plane → ClickHouse (chDB). A publisher puts N
// synthetic events on JetStream as fast as acks allow; we time until every id is stored, and check
// that each is stored exactly once. Usage (root): node bench/ingest.mjs [N]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { connect } from 'nats';
import { CLI, api, freePort, sleep, startProcess, waitFor } from './lib.mjs';

const N = Number(process.argv[2] ?? 200_000);
const dir = mkdtempSync(join(tmpdir(), 'vigil-ingest-'));
const natsPort = await freePort();
const apiPort = await freePort();
const base = `http://127.0.0.1:${apiPort}`;
const nats = startProcess('nats-server', ['-js', '-sd', join(dir, 'nats'), '-a', '127.0.0.1', '-p', String(natsPort)]);
await sleep(500);
const url = `nats://127.0.0.1:${natsPort}`;
const cp = startProcess(process.execPath, [CLI, 'control-plane', '--data-dir', join(dir, 'ch'), '--nats', url, '--api-port', String(apiPort)], { VIGIL_LOG_LEVEL: 'warn' });
await waitFor('control plane', async () => (await api(base, '/api/v1/status')).controlPlane.nats === 'connected');

const nc = await connect({ servers: url });
const js = nc.jetstream();
const proc = { pid: 1, ppid: 0, uid: 0, gid: 0, comm: 'python3', exe: '/usr/bin/python3', argv: ['python3', 'train.py'], argvTruncated: false, cgroupId: 0, cgroup: '/', containerId: null, job: null, startTs: null, ancestry: [{ pid: 1, comm: 'systemd', exe: '/usr/lib/systemd/systemd', argv: ['/sbin/init'] }], ancestryTruncated: false };
const t0 = performance.now();
const WINDOW = 2000;
for (let i = 0; i < N; i += WINDOW) {
  await Promise.all(Array.from({ length: Math.min(WINDOW, N - i) }, (_, k) => {
    const id = randomUUID();
    const ev = { id, v: 1, host: 'ingest', ts: (BigInt(Date.now()) * 1_000_000n + BigInt(i + k)).toString(), kind: 'exit', proc: { ...proc, pid: (i + k) % 4000000 }, exit: { code: 0, signal: null } };
    return js.publish('vigil.events.ingest.exit', JSON.stringify(ev), { msgID: id });
  }));
}
const published = performance.now();
await waitFor('all stored', async () => (await api(base, '/api/v1/status')).controlPlane.stored >= N, 600_000, 100);
const stored = performance.now();
const q = await api(base, '/api/v1/query', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sql: "SELECT uniqExact(id) AS u, count() AS n FROM events FINAL WHERE host = 'ingest'" }) });
await nc.close();
await cp.stop();
await nats.stop();
console.log(JSON.stringify({
  events: N,
  publishPerSec: N / ((published - t0) / 1000),
  storedPerSec: N / ((stored - t0) / 1000),
  drainAfterPublishMs: stored - published,
  unique: Number(q.rows[0].u),
  rowsFinal: Number(q.rows[0].n),
}, null, 2));
