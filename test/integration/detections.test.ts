/**
 * Custom detections inside a running control plane (real nats-server, chDB): alerts stored and
 * published on vigil.alerts.<host>.<severity>, SQL detections on their schedule, files reloaded on
 * change, broken ones reported while the rest keep running.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type NatsConnection, type Subscription } from 'nats';
import { pino } from 'pino';
import { startControlPlane, type RunningControlPlane } from '@vigil/control-plane';
import { eventSubject, type AlertV1, type EventV1, type DetectionsReport } from '@vigil/schema';
import { startLocalNats, type LocalNats } from '@vigil/cli/nats-server';
import { freePort, tempDir, waitFor } from '../support/harness.js';

const HOST = 'det-it';
const dir = tempDir('detit');
const rules = join(dir, 'rules');
let nats: LocalNats;
let cp: RunningControlPlane;
let nc: NatsConnection;
let sub: Subscription;
const published: { subject: string; alert: AlertV1 }[] = [];

const ev = (argv: string[]): EventV1 => ({
  id: randomUUID(),
  v: 1,
  host: HOST,
  ts: (BigInt(Date.now()) * 1_000_000n).toString(),
  kind: 'exec',
  proc: {
    pid: 900,
    ppid: 1,
    uid: 0,
    gid: 0,
    comm: 'sh',
    exe: '/bin/sh',
    argv,
    argvTruncated: false,
    cgroupId: 0,
    cgroup: '/',
    containerId: null,
    job: null,
    startTs: null,
    ancestry: [],
    ancestryTruncated: false,
  },
  exec: { filename: '/bin/sh', argv, argvTruncated: false, ret: 0 },
});
const api = async <T>(path: string) => (await (await fetch(`${cp.apiUrl}${path}`)).json()) as T;

before(async () => {
  mkdirSync(rules);
  writeFileSync(
    join(rules, 'marker.ts'),
    `import { defineDetection } from '@vigil/control-plane/detect';
export default defineDetection({ id: 'it.marker', title: 'marker seen', severity: 'high', mitre: ['T1059'], on: ['exec'],
  match: (ev) => ev.exec.argv.includes('vigil-marker-1') ? { reason: 'marker 1 in ' + ev.exec.argv.join(' ') } : null });`,
  );
  writeFileSync(
    join(rules, 'count.sql'),
    `-- id: it.sql-count\n-- title: marker events counted by SQL\n-- severity: low\n-- interval: 1s\nSELECT host, count() AS n, 'counted ' || toString(n) AS reason FROM events WHERE has(argv, 'vigil-sql-marker') GROUP BY host`,
  );
  writeFileSync(join(rules, 'broken.ts'), 'export default 42;');
  const dataDir = join(dir, 'data');
  nats = await startLocalNats({ dataDir, port: await freePort(), log: pino({ level: 'silent' }) });
  cp = await startControlPlane({
    storage: { kind: 'embedded', dataDir: join(dataDir, 'clickhouse') },
    nats: { servers: nats.url },
    api: { host: '127.0.0.1', port: await freePort() },
    detections: [rules],
    log: pino({ level: 'silent' }),
  });
  nc = await connect({ servers: nats.url });
  sub = nc.subscribe('vigil.alerts.>', {
    callback: (_e, m) => published.push({ subject: m.subject, alert: JSON.parse(m.string()) as AlertV1 }),
  });
});

after(async () => {
  sub?.unsubscribe();
  await nc?.close();
  await cp?.stop();
  await nats?.stop();
});

test('a TypeScript detection raises an alert: stored, listed, and published per host and severity', async () => {
  await nc.jetstream().publish(eventSubject(HOST, 'exec'), JSON.stringify(ev(['sh', '-c', 'vigil-marker-1'])));
  const stored = await waitFor('the alert in the store', async () =>
    (await api<{ alerts: AlertV1[] }>(`/api/v1/alerts?host=${HOST}`)).alerts.find((a) => a.ruleId === 'it.marker'),
  );
  assert.equal(stored.source, 'typescript');
  assert.equal(stored.severity, 'high');
  const msg = await waitFor('the alert on NATS', () => published.find((p) => p.alert.id === stored.id));
  assert.equal(msg.subject, `vigil.alerts.${HOST}.high`);
});

test('a broken file is reported with its path and reason; the others run', async () => {
  const r = await api<DetectionsReport>('/api/v1/detections');
  assert.ok(r.loaded.some((d) => d.id === 'it.marker'));
  assert.ok(
    r.loaded.some((d) => d.id === 'miner.exec'),
    'built-ins run beside custom ones',
  );
  assert.deepEqual(
    r.sql.map((d) => d.id),
    ['it.sql-count'],
  );
  assert.equal(r.problems.length, 1);
  assert.match(r.problems[0]!.path, /broken\.ts$/);
  assert.match(r.problems[0]!.reason, /default export is not a detection/);
});

test('a SQL detection runs on its schedule and each row becomes an alert', async () => {
  await nc.jetstream().publish(eventSubject(HOST, 'exec'), JSON.stringify(ev(['sh', 'vigil-sql-marker'])));
  const a = await waitFor(
    'the SQL alert',
    async () => (await api<{ alerts: AlertV1[] }>(`/api/v1/alerts?host=${HOST}&rule=it.sql-count`)).alerts[0],
    20_000,
  );
  assert.equal(a.source, 'sql');
  assert.equal(a.severity, 'low');
  assert.match(a.reason, /^counted \d+$/);
});

test('files are reloaded on change: a fixed file loads, a new rule fires', async () => {
  writeFileSync(
    join(rules, 'broken.ts'),
    `export default { id: 'it.fixed', title: 'fixed', severity: 'critical', mitre: [], on: ['exec'], match: (ev) => ev.exec.argv.includes('vigil-marker-2') ? { reason: 'marker 2' } : null };`,
  );
  await waitFor(
    'the reload',
    async () => {
      const r = await api<DetectionsReport>('/api/v1/detections');
      return r.problems.length === 0 && r.loaded.some((d) => d.id === 'it.fixed');
    },
    15_000,
  );
  await nc.jetstream().publish(eventSubject(HOST, 'exec'), JSON.stringify(ev(['sh', 'vigil-marker-2'])));
  const a = await waitFor(
    'the new rule firing',
    async () => (await api<{ alerts: AlertV1[] }>(`/api/v1/alerts?host=${HOST}&rule=it.fixed`)).alerts[0],
  );
  assert.equal(a.severity, 'critical');
  const crit = await waitFor('published as critical', () => published.find((p) => p.alert.ruleId === 'it.fixed'));
  assert.equal(crit.subject, `vigil.alerts.${HOST}.critical`);
});
