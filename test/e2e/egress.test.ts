/**
 * End to end, as root, nothing mocked (`vigil up` with the tcp probe): a process connects three times
 * to a loopback listener and holds each connection 200 ms. Its conn events are stored (`vigil events
 * --kind conn`), reachable by `vigil query`, and `vigil egress` sums them per process and destination.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { ConnEventV1, EgressReport, QueryResult } from '@vigil/schema';
import { freePort, startVigil, tempDir, vigil, vigilJson, waitFor } from '../support/harness.js';

const HOST = `e2e-egress-${process.pid}`;
const dir = tempDir('e2e-egress');
let api = '';
let up: ReturnType<typeof startVigil>;

before(async () => {
  const apiPort = await freePort();
  api = `http://127.0.0.1:${apiPort}`;
  up = startVigil([
    'up',
    '--data-dir',
    join(dir, 'data'),
    '--api-port',
    String(apiPort),
    '--nats-port',
    String(await freePort()),
    '--host-id',
    HOST,
    '--probe',
    'exec',
    '--probe',
    'proc',
    '--probe',
    'tcp',
    '--log-format',
    'json',
  ]);
  await waitFor(
    'the tcp probe running',
    () => {
      const s = vigilJson<{ sensors: { host: string; probes: { name: string; state: string }[] }[] }>(api, ['status']);
      return s.sensors.find((x) => x.host === HOST)?.probes.some((p) => p.name === 'tcp' && p.state === 'running');
    },
    90_000,
    500,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n--- vigil up output ---\n${up.logs.join('').slice(-4000)}`);
  });
});

after(async () => {
  assert.equal(await up?.stop(), 0, up?.logs.join('').slice(-2000));
});

test('outbound connections held by a process: stored conn events, vigil query, and the egress summary', async () => {
  const port = await freePort();
  const server = createServer((s) => s.on('error', () => {}));
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  let pid = 0;
  try {
    const py = `import os, socket, time\nprint(os.getpid(), flush=True)\nfor _ in range(3):\n  c = socket.create_connection(("127.0.0.1", ${port})); time.sleep(0.2); c.close()`;
    const r = spawnSync('python3', ['-c', py], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    pid = Number(r.stdout.trim());
  } finally {
    server.close();
  }

  const stored = await waitFor(
    "the workload's conn events stored, its connections all closed",
    () => {
      const got = vigilJson<ConnEventV1[]>(api, [
        'events',
        '--kind',
        'conn',
        '--host',
        HOST,
        '--pid',
        String(pid),
        '--since',
        '5m',
      ]);
      const closed = got
        .filter((e) => e.conn.event === 'close' && e.conn.direction === 'out')
        .reduce((n, e) => n + e.conn.count, 0);
      return closed === 3 && got;
    },
    30_000,
    500,
  );
  const out = stored.filter((e) => e.conn.event === 'established' && e.conn.direction === 'out');
  assert.equal(
    out.reduce((n, e) => n + e.conn.count, 0),
    3,
  );
  for (const e of out) assert.deepEqual(e.conn.remote, { addr: '127.0.0.1', port });
  assert.ok(stored.every((e) => e.proc.comm === 'python3'));
  const table = vigil(api, ['events', '--kind', 'conn', '--host', HOST, '--pid', String(pid), '--since', '5m']);
  assert.match(table.stdout, new RegExp(`established out 127\\.0\\.0\\.1:\\d+ -> 127\\.0\\.0\\.1:${port}`));

  const q = vigilJson<QueryResult>(api, [
    'query',
    `SELECT sum(JSONExtractUInt(event, 'conn', 'count')) AS n FROM (SELECT event FROM events WHERE kind = 'conn' AND host = '${HOST}' AND pid = ${pid} AND JSONExtractString(event, 'conn', 'event') = 'established' LIMIT 1 BY id)`,
  ]);
  assert.equal(Number(q.rows[0]?.n), 3);

  const report = vigilJson<EgressReport>(api, ['egress', '--host', HOST, '--since', '5m']);
  const row = report.rows.find((r) => r.pid === pid);
  assert.ok(row, JSON.stringify(report));
  assert.equal(row.comm, 'python3');
  assert.equal(row.addr, '127.0.0.1');
  assert.equal(row.port, port);
  assert.equal(row.connections, 3);
  assert.equal(row.closed, 3);
  assert.ok(row.longestMs !== null && row.longestMs >= 200, `each held 200 ms: ${row.longestMs}`);
  assert.ok(row.totalMs !== null && row.totalMs >= 600, `${row.totalMs}`);
  const text = vigil(api, ['egress', '--host', HOST, '--since', '5m']);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`host ${HOST}`));
  assert.match(text.stdout, new RegExp(`python3\\(${pid}\\).*127\\.0\\.0\\.1:${port}\\s+3\\s+3`));
});
