/**
 * The CLI and API as a user meets them: the real `vigil` against a real
 * control plane (real nats-server, real chDB, an embedded sensor with real bpftrace): each mistake a
 * user makes gets an error that says what is wrong and what to do, and what the CLI shows is true.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pino } from 'pino';
import { startControlPlane, type RunningControlPlane } from '@vigil/control-plane';
import { startSensor, type RunningSensor } from '@vigil/sensor';
import { startLocalNats, type LocalNats } from '@vigil/cli/nats-server';
import { API_TOKEN, authHeaders, CLI, freePort, startVigil, tempDir, vigilAsync, waitFor } from '../support/harness.js';
import type { StatusReport } from '@vigil/schema';

const dir = tempDir('cli-correct');
const log = pino({ level: 'silent' });
const HOST = 'cli-correctness';
let nats: LocalNats;
let cp: RunningControlPlane;
let sensor: RunningSensor;

before(async () => {
  nats = await startLocalNats({ dataDir: dir, port: await freePort(), log });
  cp = await startControlPlane({
    storage: { kind: 'embedded', dataDir: join(dir, 'ch') },
    nats: { servers: nats.url },
    api: { host: '127.0.0.1', port: await freePort(), token: API_TOKEN },
    log,
  });
  // Embedded in this process, as `vigil up` has run it: its node figures are the control plane's too.
  sensor = await startSensor({
    nats: { servers: nats.url },
    hostId: HOST,
    probes: ['exec'],
    spoolDir: join(dir, 'spool'),
    log,
  });
});

after(async () => {
  await sensor?.stop();
  await cp?.stop();
  await nats?.stop();
});

/** oclif wraps long errors over lines that start with " ›"; one line again. */
const oneLine = (s: string) => s.replace(/\n\s*›\s+/g, ' ').replace(/\s+/g, ' ');

test('vigil query: FORMAT, several statements and an empty query each get their own clear error', async () => {
  const format = await vigilAsync(cp.apiUrl, ['query', 'SELECT 1 AS a FORMAT CSV']);
  assert.equal(format.status, 1);
  assert.match(
    oneLine(format.stderr),
    /FORMAT is not allowed: the API answers rows as JSON, and `vigil query --format table\|csv\|tsv\|json` renders them/,
  );
  assert.doesNotMatch(format.stderr, /Cannot read properties/);

  const two = await vigilAsync(cp.apiUrl, ['query', 'SELECT 1; SELECT 2']);
  assert.equal(two.status, 1);
  assert.match(oneLine(two.stderr), /one statement per query/);
  assert.doesNotMatch(two.stderr, /FORMAT/);

  const empty = await vigilAsync(cp.apiUrl, ['query', '']);
  assert.equal(empty.status, 1);
  assert.match(oneLine(empty.stderr), /the query is empty/);
  assert.doesNotMatch(empty.stderr, /body must be/);
});

test('through the API, FORMAT JSON is refused, never an empty row', async () => {
  const res = await fetch(`${cp.apiUrl}/api/v1/query`, {
    method: 'POST',
    headers: { ...authHeaders, 'content-type': 'application/json' },
    body: JSON.stringify({ sql: 'SELECT 1 AS a FORMAT JSON' }),
  });
  const body = (await res.json()) as { error?: string; rows?: unknown[] };
  assert.equal(res.status, 403);
  assert.equal(body.rows, undefined);
  assert.match(body.error ?? '', /FORMAT is not allowed/);
});

test('vigil query --format renders what FORMAT gave: csv, tsv, a JSON array', async () => {
  const sql = 'SELECT 1 AS n, \'a,"b"\' AS s, [1, 2] AS arr, NULL AS z';
  const csv = await vigilAsync(cp.apiUrl, ['query', '--format', 'csv', sql]);
  assert.equal(csv.status, 0, csv.stderr);
  assert.equal(csv.stdout, 'n,s,arr,z\n1,"a,""b""","[1,2]",\n');
  const tsv = await vigilAsync(cp.apiUrl, ['query', '--format', 'tsv', sql]);
  assert.equal(tsv.stdout, 'n\ts\tarr\tz\n1\ta,"b"\t[1,2]\t\\N\n');
  const json = await vigilAsync(cp.apiUrl, ['query', '--format', 'json', sql]);
  assert.deepEqual(JSON.parse(json.stdout), [{ n: 1, s: 'a,"b"', arr: [1, 2], z: null }]);
  const bad = await vigilAsync(cp.apiUrl, ['query', '--format', 'xml', sql]);
  assert.notEqual(bad.status, 0);
  assert.match(oneLine(bad.stderr), /table, csv, tsv, json/);
});

test('vigil sensor and vigil up refuse an invalid --host-id with the rule it breaks, before starting anything', async () => {
  const rule = /"bad\.host\/name" is not a valid host id: letters, digits, "_" and "-"/;
  const s = spawnSync(
    process.execPath,
    [
      CLI,
      'sensor',
      '--host-id',
      'bad.host/name',
      '--nats',
      nats.url,
      '--probe',
      'exec',
      '--spool-dir',
      join(dir, 'bad-spool'),
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  assert.notEqual(s.status, 0, 'the sensor started');
  assert.match(oneLine(s.stderr), rule);
  const up = spawnSync(
    process.execPath,
    [
      CLI,
      'up',
      '--host-id',
      'bad.host/name',
      '--data-dir',
      join(dir, 'bad-up'),
      '--api-port',
      String(await freePort()),
      '--nats-port',
      String(await freePort()),
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  assert.notEqual(up.status, 0, 'vigil up started');
  assert.match(oneLine(up.stderr), rule);
});

test("--api without a scheme, or with the API's own /api path, reaches the API; a URL that is none says the expected form", async () => {
  const { host } = new URL(cp.apiUrl);
  for (const api of [host, `${cp.apiUrl}/api`, `${cp.apiUrl}/api/v1/`]) {
    const r = await vigilAsync(cp.apiUrl, ['status', '--api', api]);
    assert.equal(r.status, 0, `${api}: ${r.stderr}`);
    assert.match(r.stdout, /^control plane /);
  }
  const bad = await vigilAsync(cp.apiUrl, ['status', '--api', `ftp://${host}`]);
  assert.equal(bad.status, 1);
  assert.match(
    oneLine(bad.stderr),
    /--api: "ftp:\/\/[^"]+" is not the Vigil API's URL; expected its base URL, like http:\/\/127\.0\.0\.1:8787/,
  );
});

test("the API's 401 says where the token is; /healthz answers without it", async () => {
  for (const headers of [{}, { authorization: 'Bearer wrong' }] as Record<string, string>[]) {
    const res = await fetch(`${cp.apiUrl}/api/v1/status`, { headers });
    assert.equal(res.status, 401);
    const { error } = (await res.json()) as { error: string };
    assert.match(error, /VIGIL_API_TOKEN/);
    assert.match(error, /api-token/);
  }
  const health = await fetch(`${cp.apiUrl}/healthz`);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { ok: true });
});

test("vigil status says when a sensor shares its process with the control plane, rather than calling it the sensor's memory", async () => {
  await waitFor(
    "the embedded sensor's heartbeat, its probe running",
    async () => {
      const res = await fetch(`${cp.apiUrl}/api/v1/status`, { headers: authHeaders });
      const s = (await res.json()) as StatusReport;
      return s.sensors.some((x) => x.host === HOST && x.probes.some((p) => p.state === 'running'));
    },
    60_000,
  );
  const json = JSON.parse((await vigilAsync(cp.apiUrl, ['status', '--json'])).stdout) as StatusReport;
  assert.equal(json.sensors.find((x) => x.host === HOST)?.sharesControlPlaneProcess, true);
  const r = await vigilAsync(cp.apiUrl, ['status']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^${HOST} .* \\d+ MiB\\* `, 'm'));
  assert.match(
    r.stdout,
    new RegExp(
      `^${HOST} \\* shares its process with the control plane and its embedded ClickHouse: RSS and CPU are the whole process's`,
      'm',
    ),
  );
});

test('vigil detections list shows the heartbeat built-ins and the severities a detection can raise', async () => {
  const r = await vigilAsync(cp.apiUrl, ['detections', 'list']);
  assert.equal(r.status, 0, r.stderr);
  for (const id of ['sensor.silent', 'sensor.stopped', 'sensor.probe-restart', 'sensor.probe-stalled', 'sensor.tamper'])
    assert.match(r.stdout, new RegExp(`^${id.replace('.', '\\.')} `, 'm'), id);
  assert.match(r.stdout, /^sensor\.silent\s+critical\s+builtin\/heartbeat /m);
  assert.match(r.stdout, /^miner\.exec\s+high\.\.critical\s+builtin /m);
  assert.match(r.stdout, /^tunnel\.ssh-forward\s+low\.\.critical /m);
  assert.match(
    r.stdout,
    /^miner\.exec: high by default; critical with a stratum URL or pool host in argv, when renamed, or from a writable place/m,
  );
});

test('vigil up on another API port says how to reach it', { timeout: 180_000 }, async () => {
  const port = await freePort();
  const up = startVigil([
    'up',
    '--data-dir',
    join(dir, 'up'),
    '--api-port',
    String(port),
    '--nats-port',
    String(await freePort()),
    '--probe',
    'exec',
    '--host-id',
    'cli-correct-up',
  ]);
  try {
    const ready = await waitFor(
      'the ready line',
      () =>
        up.logs
          .join('')
          .split('\n')
          .find((l) => l.startsWith('vigil is up')),
      150_000,
    );
    assert.match(ready, new RegExp(`Try \`sudo npx vigil events --api http://127\\.0\\.0\\.1:${port}\``));
  } finally {
    await up.stop();
  }
});
