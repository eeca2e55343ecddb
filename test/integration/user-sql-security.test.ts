/**
 * User SQL tried the way a hostile local user would: as `nobody`, with curl against the loopback API
 * of a real control plane (real nats-server, real chDB, running as root), holding the API token. It
 * may not write a file (INTO OUTFILE), read one (file(), /etc/shadow, the control plane's environ),
 * kill the control plane's own queries, or crowd the query queue; a SQL detection gets the same guard.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { startControlPlane, type RunningControlPlane } from '@vigil/control-plane';
import { startLocalNats, type LocalNats } from '@vigil/cli/nats-server';
import { freePort, tempDir, waitFor } from '../support/harness.js';

const dir = tempDir('user-sql');
const log = pino({ level: 'silent' });
const TOKEN = randomUUID();
const SECRET = `vigil-secret-${randomUUID()}`;
const rootOnly = join(dir, 'root-only');
const secret = join(rootOnly, 'secret');
const detections = join(dir, 'detections');
let nats: LocalNats;
let cp: RunningControlPlane;

before(async () => {
  // tempDir is root's, mode 0700: nothing under it is nobody's to read or write.
  mkdirSync(rootOnly, { mode: 0o700 });
  writeFileSync(secret, `${SECRET}\n`, { mode: 0o600 });
  mkdirSync(detections);
  writeFileSync(
    join(detections, 'leak.sql'),
    `-- id: sql.leak\n-- title: leak a file\n-- severity: low\n-- interval: 1s\nSELECT 'h' AS host, file('${secret}') AS reason\n`,
  );
  chmodSync(dir, 0o755); // nobody reaches nothing but the API; the folders below stay root's
  nats = await startLocalNats({ dataDir: dir, port: await freePort(), log });
  cp = await startControlPlane({
    storage: { kind: 'embedded', dataDir: join(dir, 'ch') },
    nats: { servers: nats.url },
    api: { host: '127.0.0.1', port: await freePort(), token: TOKEN },
    detections: [detections],
    queryLimits: { maxSeconds: 2, maxPending: 2 },
    log,
  });
});

after(async () => {
  await cp?.stop();
  await nats?.stop();
});

/** POST /api/v1/query with curl, as the unprivileged user nobody (asynchronously: the API runs in this process). */
async function queryAsNobody(sql: string): Promise<{ status: number; body: string }> {
  const child = spawn('setpriv', [
    '--reuid=65534',
    '--regid=65534',
    '--clear-groups',
    'curl',
    '-sS',
    '--max-time',
    '30',
    '-w',
    '\n%{http_code}',
    '-H',
    `authorization: Bearer ${TOKEN}`,
    '-H',
    'content-type: application/json',
    '--data-binary',
    '@-',
    `${cp.apiUrl}/api/v1/query`,
  ]);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdin.end(JSON.stringify({ sql }));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, `curl as nobody: ${stderr}`);
  const nl = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(nl + 1)), body: stdout.slice(0, nl) };
}

test('nobody cannot read the files the test plants except through the API (the boundary under test)', async () => {
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'cat', secret], {
    encoding: 'utf8',
  });
  assert.notEqual(r.status, 0);
  assert.equal((await queryAsNobody('SELECT 1 AS one')).status, 200, 'nobody reaches the API');
});

test('INTO OUTFILE through the API writes no file as root', async () => {
  const targets = ['a', 'b', 'c', 'd'].map((n) => join(rootOnly, `pwned-${n}`));
  for (const q of [
    `SELECT 'x' INTO OUTFILE '${targets[0]}'`,
    `SELECT 'x' INTO OUTFILE '${targets[1]}' TRUNCATE`,
    `select 1 union all select 'x' into outfile '${targets[2]}' compression 'gzip'`,
  ]) {
    const r = await queryAsNobody(q);
    assert.equal(r.status, 403, `${q} → ${r.status} ${r.body}`);
    assert.match(r.body, /read-only/);
  }
  const multi = await queryAsNobody(`SELECT 1; SELECT 'x' INTO OUTFILE '${targets[3]}' APPEND`);
  assert.equal(multi.status, 400, multi.body);
  for (const t of targets) assert.equal(existsSync(t), false, `${t} written`);
  assert.deepEqual(readdirSync(rootOnly), ['secret']);
});

test("file() through the API reads nothing: not a root-only file, /etc/shadow, nor the control plane's environment", async () => {
  for (const q of [
    `SELECT file('${secret}') AS s`,
    `SELECT FILE('${secret}') AS s`,
    `WITH a AS (SELECT file('${secret}') AS s) SELECT s FROM a`,
    "SELECT file('/etc/shadow') AS s",
    `SELECT file('/proc/${process.pid}/environ') AS s`,
    `SELECT * FROM file('${secret}', 'LineAsString')`,
  ]) {
    const r = await queryAsNobody(q);
    assert.equal(r.status, 403, `${q} → ${r.status} ${r.body}`);
    assert.ok(!r.body.includes(SECRET) && !r.body.includes('root:'), `${q}: ${r.body}`);
  }
});

test("KILL QUERY, SYSTEM and settings changes are refused: the control plane's inserts are not the user's to stop", async () => {
  for (const q of [
    "KILL QUERY WHERE query LIKE 'INSERT%'",
    'KILL QUERY WHERE 1 SYNC',
    'SYSTEM FLUSH LOGS',
    'SELECT 1 SETTINGS readonly = 0',
    'SELECT query FROM system.processes',
  ]) {
    const r = await queryAsNobody(q);
    assert.equal(r.status, 403, `${q} → ${r.status} ${r.body}`);
  }
});

test('past maxPending queued queries, another is refused at once as busy (503) with the count; the queue drains', async () => {
  const post = (sql: string) =>
    fetch(`${cp.apiUrl}/api/v1/query`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sql }),
    });
  // Three at once, each running into the 2 s limit: two queue, the third finds the queue full.
  const heavy = await Promise.all([1, 2, 3].map(() => post('SELECT count() FROM numbers_mt(1000000000000)')));
  assert.deepEqual(heavy.map((r) => r.status).sort(), [400, 400, 503]);
  const busy = heavy.find((r) => r.status === 503)!;
  assert.match(
    ((await busy.json()) as { error: string }).error,
    /busy: 2 user queries are running or waiting, at most 2/,
  );
  assert.equal((await queryAsNobody('SELECT 1')).status, 200);
});

test('a SQL detection goes through the same guard: its file() is refused and reported, nothing raised', async () => {
  const reason = await waitFor('the detection run', () => cp.custom?.sqlErrors.get('sql.leak'), 15_000);
  assert.match(reason, /refused: .*file\(\)/);
  assert.ok(!reason.includes(SECRET));
  const alerts = await fetch(`${cp.apiUrl}/api/v1/alerts?rule=sql.leak`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  assert.deepEqual(((await alerts.json()) as { alerts: unknown[] }).alerts, []);
});
