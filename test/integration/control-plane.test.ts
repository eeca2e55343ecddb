/**
 * The control plane against a real nats-server (JetStream) and the real ClickHouse engine (chDB):
 * idempotent set-up, exactly-once storage of event ids through retries, dead-lettering of everything
 * malformed without stalling, read-only SQL enforced by the storage.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { connect, type NatsConnection, type JetStreamClient } from 'nats';
import { pino } from 'pino';
import { startControlPlane, type RunningControlPlane } from '@vigil/control-plane';
import {
  batchId,
  DEAD_LETTER_STREAM,
  eventSubject,
  heartbeatSubject,
  type AlertV1,
  type EventV1,
  type ExecEventV1,
  type HeartbeatV1,
  type StatusReport,
} from '@vigil/schema';
import { startLocalNats, type LocalNats } from '@vigil/cli/nats-server';
import { freePort, tempDir, waitFor } from '../support/harness.js';

const log = pino({ level: 'silent' });
let nats: LocalNats;
let cp: RunningControlPlane;
let nc: NatsConnection;
let js: JetStreamClient;

const HOST = 'it-host';
const HOST2 = 'it-host-2';
const proc = {
  pid: 4242,
  ppid: 1,
  uid: 0,
  gid: 0,
  comm: 'python3',
  exe: '/usr/bin/python3',
  argv: ['python3', 'train.py'],
  argvTruncated: false,
  cgroupId: 1,
  cgroup: '/',
  containerId: null,
  job: null,
  startTs: null,
  ancestry: [{ pid: 1, comm: 'systemd', exe: '/usr/lib/systemd/systemd', argv: ['/sbin/init'] }],
  ancestryTruncated: false,
};
const execEvent = (i: number, host = HOST): EventV1 => ({
  id: randomUUID(),
  v: 1,
  host,
  ts: (BigInt(Date.now()) * 1_000_000n + BigInt(i)).toString(),
  kind: 'exec',
  proc,
  exec: { filename: '/bin/echo', argv: ['echo', `n${i}`, 'quo"te', 'line\nbreak'], argvTruncated: false, ret: 0 },
});
const publish = (ev: unknown, subject = eventSubject(HOST, 'exec'), msgID?: string) =>
  js.publish(subject, typeof ev === 'string' ? ev : JSON.stringify(ev), msgID ? { msgID } : {});

async function api<T>(path: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const res = await fetch(`${cp.apiUrl}${path}`, init);
  return { status: res.status, body: (await res.json()) as T };
}
const sql = (q: string) =>
  api<{ rows: Record<string, unknown>[]; error?: string }>('/api/v1/query', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sql: q }),
  });

before(async () => {
  const dir = tempDir('it');
  nats = await startLocalNats({ dataDir: dir, port: await freePort(), log });
  cp = await startControlPlane({
    storage: { kind: 'embedded', dataDir: `${dir}/clickhouse` },
    nats: { servers: nats.url },
    api: { host: '127.0.0.1', port: await freePort() },
    batchSize: 500,
    log,
  });
  nc = await connect({ servers: nats.url });
  js = nc.jetstream();
});

after(async () => {
  await nc?.close();
  await cp?.stop();
  await nats?.stop();
});

test('every event id is stored exactly once through JetStream retries and storage-level duplicates', async () => {
  const events = Array.from({ length: 300 }, (_, i) => execEvent(i));
  await Promise.all(events.map((ev) => publish(ev, undefined, ev.id)));
  // A sensor retrying a publish it never saw acked: same Nats-Msg-Id, dropped by the stream.
  await Promise.all(events.slice(0, 20).map((ev) => publish(ev, undefined, ev.id)));
  // A duplicate that slipped past the stream's window (different message id): storage folds it.
  await Promise.all(events.slice(20, 30).map((ev) => publish(ev, undefined, `${ev.id}-replay`)));
  const ids = new Set(events.map((e) => e.id));
  const got = await waitFor('300 events stored', async () => {
    const r = await api<{ events: EventV1[] }>(`/api/v1/events?host=${HOST}&limit=1000`);
    return r.body.events.filter((e) => ids.has(e.id)).length >= 300 ? r.body.events : null;
  });
  const mine = got.filter((e) => ids.has(e.id));
  assert.equal(mine.length, 300);
  assert.equal(new Set(mine.map((e) => e.id)).size, 300, 'no id twice');
  const one = mine.find((e) => e.id === events[7]!.id)!;
  assert.deepEqual(one, events[7], 'stored and returned exactly as sent, argv with quotes and newlines intact');
});

test('malformed, wrong-version, wrong-host and oversized messages are dead-lettered with reasons; the consumer keeps going', async () => {
  const jsm = await nc.jetstreamManager();
  const dlqBefore = (await jsm.streams.info(DEAD_LETTER_STREAM)).state.messages;
  await publish('{"not": json');
  await publish({ ...execEvent(1), v: 2 });
  await publish({ ...execEvent(2), kind: 'exec', exec: { argv: 'not-an-array' } });
  await publish(execEvent(3, 'other-host'));
  await publish({
    ...execEvent(4),
    exec: { filename: 'x', argv: ['x'.repeat(300_000)], argvTruncated: false, ret: 0 },
  });
  const after = execEvent(5);
  await publish(after, undefined, after.id);
  await waitFor('the valid event after the bad ones', async () =>
    (await api<{ events: EventV1[] }>(`/api/v1/events?host=${HOST}&limit=1000`)).body.events.some(
      (e) => e.id === after.id,
    ),
  );
  const status = await api<StatusReport>('/api/v1/status');
  assert.deepEqual(status.body.controlPlane.rejects, {
    'not-json': 1,
    'wrong-version': 1,
    schema: 1,
    'host-mismatch': 1,
    oversized: 1,
  });
  const dlq = await waitFor('5 dead letters', async () => {
    const n = (await jsm.streams.info(DEAD_LETTER_STREAM)).state.messages - dlqBefore;
    return n === 5 ? n : null;
  });
  assert.equal(dlq, 5);
  const last = await jsm.streams.getMessage(DEAD_LETTER_STREAM, { last_by_subj: 'vigil.deadletter.host-mismatch' });
  assert.equal(last.header.get('Vigil-Reason'), 'host-mismatch');
});

test('a batch message is stored whole; one malformed event in it is dead-lettered alone; a batch from another host is refused whole', async () => {
  const jsm = await nc.jetstreamManager();
  const dlqBefore = (await jsm.streams.info(DEAD_LETTER_STREAM)).state.messages;
  const rejectsBefore = (await api<StatusReport>('/api/v1/status')).body.controlPlane.rejects;
  const good = Array.from({ length: 50 }, (_, i) => execEvent(1000 + i));
  const broken = { ...execEvent(2000), exec: { argv: 'not-an-array' } };
  const events = [...good.slice(0, 25), broken, ...good.slice(25)];
  await publish({ v: 1, host: HOST, kind: 'exec', events }, undefined, batchId(events));
  const forged = [execEvent(3000, 'other-host')];
  await publish({ v: 1, host: 'other-host', kind: 'exec', events: forged }, undefined, batchId(forged));
  const ids = new Set(good.map((e) => e.id));
  await waitFor(
    'the 50 good events of the batch',
    async () =>
      (await api<{ events: EventV1[] }>(`/api/v1/events?host=${HOST}&limit=1000`)).body.events.filter((e) =>
        ids.has(e.id),
      ).length === 50,
  );
  const n = await waitFor('2 dead letters', async () => {
    const d = (await jsm.streams.info(DEAD_LETTER_STREAM)).state.messages - dlqBefore;
    return d === 2 ? d : null;
  });
  assert.equal(n, 2);
  const parked = await jsm.streams.getMessage(DEAD_LETTER_STREAM, { last_by_subj: 'vigil.deadletter.schema' });
  assert.equal(
    (JSON.parse(new TextDecoder().decode(parked.data)) as { id: string }).id,
    broken.id,
    'the malformed event alone, not its batch',
  );
  const rejects = (await api<StatusReport>('/api/v1/status')).body.controlPlane.rejects;
  assert.equal((rejects.schema ?? 0) - (rejectsBefore.schema ?? 0), 1);
  assert.equal((rejects['host-mismatch'] ?? 0) - (rejectsBefore['host-mismatch'] ?? 0), 1);
  const stored = await sql(`SELECT count() AS n FROM events WHERE host = 'other-host'`);
  assert.equal(Number(stored.body.rows[0]!.n), 0, 'nothing of the forged batch stored');
});

test('SQL is read-only at the storage level: writes, DDL and file/network table functions are refused and change nothing', async () => {
  const ok = await sql('SELECT count() AS n FROM events');
  assert.equal(ok.status, 200);
  const before = Number(ok.body.rows[0]!.n);
  for (const q of [
    'DROP TABLE events',
    "INSERT INTO events (id) VALUES ('x')",
    'ALTER TABLE events DELETE WHERE 1',
    'TRUNCATE TABLE events',
    "SELECT * FROM file('/etc/passwd', 'LineAsString')",
    "SELECT * FROM url('http://127.0.0.1:1/', 'LineAsString')",
    'SYSTEM FLUSH LOGS',
    'CREATE TABLE pwned (x UInt8) ENGINE = Memory',
    'SELECT 1 SETTINGS readonly = 0',
  ]) {
    const r = await sql(q);
    assert.equal(r.status, 403, `${q} → ${r.status} ${JSON.stringify(r.body)}`);
    assert.match(r.body.error ?? '', /read-only/);
  }
  const bad = await sql('SELEKT nonsense');
  assert.equal(bad.status, 400);
  const again = await sql('SELECT count() AS n FROM events');
  assert.ok(Number(again.body.rows[0]!.n) >= before, 'the table is still there');
  // The read-only guard must bind user queries only: ingestion goes on after them.
  const later = execEvent(99);
  await publish(later, undefined, later.id);
  await waitFor(
    'an event stored after the refused queries',
    async () =>
      (await api<{ events: EventV1[] }>(`/api/v1/events?host=${HOST}&limit=1000`)).body.events.some(
        (e) => e.id === later.id,
      ),
    15_000,
  );
});

test('an event whose ts no storage type holds (20 digits, schema-valid) is stored, and so is its alert: neither insert holds up what comes after', async () => {
  const minerArgv = ['/tmp/kworker', '-o', 'stratum+tcp://pool.supportxmr.com:3333', '--donate-level', '1'];
  // Two processes, so the second alert is not folded into the first (throttled per process).
  const minerExec = (pid: number, ts: string): EventV1 => ({
    id: randomUUID(),
    v: 1,
    host: HOST,
    ts,
    kind: 'exec',
    proc: { ...proc, pid },
    exec: { filename: '/tmp/kworker', argv: minerArgv, argvTruncated: false, ret: 0 },
  });
  const odd = minerExec(5000, '99999999999999999999');
  const after = minerExec(5001, (BigInt(Date.now()) * 1_000_000n).toString());
  await publish(odd, undefined, odd.id);
  await publish(after, undefined, after.id);
  const events = await waitFor(
    'both events stored',
    async () => {
      const got = (await api<{ events: EventV1[] }>(`/api/v1/events?host=${HOST}&limit=1000`)).body.events;
      return got.some((e) => e.id === odd.id) && got.some((e) => e.id === after.id) ? got : null;
    },
    15_000,
  );
  assert.equal(events.find((e) => e.id === odd.id)?.ts, odd.ts, 'the event kept as sent');
  const alerts = await waitFor(
    'both alerts stored',
    async () => {
      const got = (await api<{ alerts: AlertV1[] }>(`/api/v1/alerts?host=${HOST}&rule=miner.exec`)).body.alerts;
      return [odd, after].every((ev) => got.some((a) => a.evidence.includes(ev.id))) ? got : null;
    },
    15_000,
  );
  assert.equal(alerts.find((a) => a.evidence.includes(odd.id))?.ts, odd.ts);
  // The stored columns: the alert's own time where it fits, the insert's where it does not.
  const tsOf = async (a: AlertV1 | undefined) =>
    (
      await sql(
        `SELECT toString(toUnixTimestamp64Nano(ts)) AS ts, toString(toUnixTimestamp64Nano(last_ts)) AS last FROM alerts WHERE id = '${a?.id}'`,
      )
    ).body.rows[0];
  assert.deepEqual(await tsOf(alerts.find((a) => a.evidence.includes(after.id))), { ts: after.ts, last: after.ts });
  const oddRow = await tsOf(alerts.find((a) => a.evidence.includes(odd.id)));
  assert.ok(
    BigInt(String(oddRow?.ts)) <= BigInt(Date.now()) * 1_000_000n &&
      BigInt(String(oddRow?.ts)) > (BigInt(Date.now()) - 60_000n) * 1_000_000n,
    `odd alert ts ${oddRow?.ts}`,
  );
  const status = await api<{ controlPlane: { lastInsertError: string | null; alerts: { lastError: string | null } } }>(
    '/api/v1/status',
  );
  assert.equal(status.body.controlPlane.lastInsertError, null);
  assert.equal(status.body.controlPlane.alerts.lastError, null);
});

test('events and alerts claiming times outside what storage keeps (a clock at 1970, a century of months in one batch) are stored at arrival and counted, without stalling', async () => {
  const minerArgv = ['/tmp/kworker', '-o', 'stratum+tcp://pool.supportxmr.com:3333'];
  const MONTH = 31n * 86_400_000_000_000n;
  const now = BigInt(Date.now()) * 1_000_000n;
  // Two messages of 121 miner execs in all, each its own process (its own alert): one claiming 1970,
  // the others a different month each, back 120 months. As claimed, the events spanned more than 100
  // daily partitions and the alerts more than 100 monthly ones: both inserts failed and were retried
  // forever; and the 1970 one was dropped by the TTL as it was written.
  // Each its own binary (alerts group processes of one command shape) and half on a second host (a
  // rule raises at most 100 alerts per host a minute before the rest fold into one).
  const letters = (n: number) => n.toString(26).replace(/\d/g, (d) => 'qrstuvwxyz'[Number(d)]!);
  const events: EventV1[] = Array.from({ length: 121 }, (_, i) => ({
    id: randomUUID(),
    v: 1,
    host: i % 2 ? HOST2 : HOST,
    ts: i === 120 ? '0' : (now - BigInt(i) * MONTH).toString(),
    kind: 'exec',
    proc: { ...proc, pid: 6000 + i, exe: `/tmp/kworker-${letters(i)}` },
    exec: { filename: `/tmp/kworker-${letters(i)}`, argv: minerArgv, argvTruncated: false, ret: 0 },
  }));
  const before = await api<StatusReport>('/api/v1/status');
  for (const host of [HOST, HOST2]) {
    const batch = events.filter((e) => e.host === host);
    await js.publish(eventSubject(host, 'exec'), JSON.stringify({ v: 1, host, kind: 'exec', events: batch }), {
      msgID: batchId(batch),
    });
  }
  const ids = events.map((e) => `'${e.id}'`).join(',');
  await waitFor(
    'every event stored',
    async () =>
      Number((await sql(`SELECT count() AS n FROM events WHERE id IN (${ids})`)).body.rows[0]?.n) === events.length
        ? true
        : null,
    20_000,
  );
  await waitFor(
    'every alert stored',
    async () =>
      Number(
        (
          await sql(
            `SELECT uniqExact(id) AS n FROM alerts WHERE arrayExists(e -> has([${ids}], e), JSONExtract(alert, 'evidence', 'Array(String)'))`,
          )
        ).body.rows[0]?.n,
      ) === events.length
        ? true
        : null,
    20_000,
  );
  // Only the first claims a time within the 29 days kept as claimed; the rest are stored at arrival.
  const rows = (
    await sql(
      `SELECT JSONExtractString(event, 'ts') AS claimed, toString(toUnixTimestamp64Nano(ts)) AS ts FROM events WHERE id IN (${ids})`,
    )
  ).body.rows;
  const atArrival = rows.filter((r) => r.claimed !== r.ts);
  assert.equal(atArrival.length, 120, 'all but the one claiming now');
  for (const r of atArrival)
    assert.ok(BigInt(String(r.ts)) >= now, `stored at arrival (${r.ts}), the JSON keeping ${r.claimed}`);
  const status = await api<{
    controlPlane: { retimed: number; lastInsertError: string | null; alerts: { lastError: string | null } };
  }>('/api/v1/status');
  assert.equal(status.body.controlPlane.retimed - before.body.controlPlane.retimed, 120, 'counted');
  assert.equal(status.body.controlPlane.lastInsertError, null);
  assert.equal(status.body.controlPlane.alerts.lastError, null);
});

test('a lone surrogate in an event (a hostile publisher) reaches storage as U+FFFD in the event and its alert; alert storage goes on', async () => {
  // JSON's \ud800 escape: valid JSON and a valid string to the schema, refused by ClickHouse's JSON input.
  const raw = (pid: number, exe: string) =>
    `{"id":"${randomUUID()}","v":1,"host":"${HOST}","ts":"${BigInt(Date.now()) * 1_000_000n}","kind":"exec",` +
    `"proc":${JSON.stringify({ ...proc, pid, comm: 'COMM', exe: 'EXE' })
      .replace('"COMM"', '"kw\\ud800"')
      .replace('"EXE"', `"${exe}"`)},` +
    `"exec":{"filename":"${exe}","argv":["${exe}","-o","stratum+tcp://pool.supportxmr.com:3333"],"argvTruncated":false,"ret":0}}`;
  const hostile = raw(7000, '/tmp/x\\ud800');
  const plain = raw(7001, '/tmp/plain-miner');
  const ids = [hostile, plain].map((t) => (JSON.parse(t) as EventV1).id);
  assert.equal((JSON.parse(hostile) as EventV1).proc.comm, 'kw\ud800');
  await publish(hostile, undefined, ids[0]);
  await publish(plain, undefined, ids[1]);
  const alerts = await waitFor(
    'both alerts stored',
    async () => {
      const got = (await api<{ alerts: AlertV1[] }>(`/api/v1/alerts?host=${HOST}&rule=miner.exec`)).body.alerts;
      return ids.every((id) => got.some((a) => a.evidence.includes(id))) ? got : null;
    },
    15_000,
  );
  const a = alerts.find((x) => x.evidence.includes(ids[0]!))!;
  assert.equal(a.proc?.comm, 'kw\ufffd');
  assert.match(a.reason, /\/tmp\/x\ufffd/);
  const stored = await waitFor(
    'the event stored',
    async () => (await sql(`SELECT comm, event FROM events WHERE id = '${ids[0]}'`)).body.rows[0] ?? null,
    15_000,
  );
  assert.equal(stored.comm, 'kw\ufffd');
  assert.equal((JSON.parse(String(stored.event)) as ExecEventV1).exec.filename, '/tmp/x\ufffd');
  const status = await api<{ controlPlane: { alerts: { lastError: string | null } } }>('/api/v1/status');
  assert.equal(status.body.controlPlane.alerts.lastError, null);
});

test('event filters are bound parameters: hostile values are data, not SQL', async () => {
  const r = await api<{ events: EventV1[] }>(`/api/v1/events?comm=${encodeURIComponent("x' OR 1=1 --")}`);
  assert.equal(r.status, 200);
  assert.equal(r.body.events.length, 0);
  const bad = await api<{ error: string }>('/api/v1/events?kind=nope');
  assert.equal(bad.status, 400);
});

test('heartbeat times are stored as sent, and one no storage type holds (20 digits, schema-valid) takes the insert time instead of being lost', async () => {
  const beat = (host: string, ts: string): HeartbeatV1 => ({
    v: 1,
    host,
    ts,
    sensorVersion: 't',
    startedTs: '1',
    counters: {
      recordsRead: 0,
      eventsPublished: 0,
      eventsDropped: 0,
      lostEvents: 0,
      rejects: {},
      queueDepth: 0,
      processCacheSize: 0,
    },
    probes: [],
  });
  const sent = (BigInt(Date.now()) * 1_000_000n + 123n).toString();
  const before = BigInt(Date.now()) * 1_000_000n;
  nc.publish(heartbeatSubject('hb-plain'), JSON.stringify(beat('hb-plain', sent)));
  nc.publish(heartbeatSubject('hb-odd'), JSON.stringify(beat('hb-odd', '99999999999999999999')));
  const rows = await waitFor(
    'both heartbeats stored',
    async () => {
      const r = await sql(
        "SELECT host, toString(toUnixTimestamp64Nano(ts)) AS ts FROM sensor_heartbeats WHERE host IN ('hb-plain', 'hb-odd') ORDER BY host",
      );
      return r.body.rows.length === 2 ? r.body.rows : null;
    },
    15_000,
  );
  assert.deepEqual(rows[1], { host: 'hb-plain', ts: sent });
  const odd = BigInt(String(rows[0]!.ts));
  assert.ok(
    odd >= before && odd <= BigInt(Date.now()) * 1_000_000n,
    `the odd heartbeat's ts is the insert time (${odd})`,
  );
});

test('heartbeats show up in status; a heartbeat claiming another host on its subject is rejected', async () => {
  const hb: HeartbeatV1 = {
    v: 1,
    host: HOST,
    ts: (BigInt(Date.now()) * 1_000_000n).toString(),
    sensorVersion: 't',
    startedTs: '1',
    counters: {
      recordsRead: 1,
      eventsPublished: 1,
      eventsDropped: 0,
      lostEvents: 0,
      rejects: {},
      queueDepth: 0,
      processCacheSize: 1,
    },
    probes: [{ name: 'exec', state: 'running', restarts: 0, lostEvents: 0, lastError: null }],
  };
  nc.publish(heartbeatSubject(HOST), JSON.stringify(hb));
  nc.publish(heartbeatSubject('intruder'), JSON.stringify(hb));
  // A live sensor on a host whose clock is two minutes slow: judged by arrival, so not silent.
  const slowTs = ((BigInt(Date.now()) - 120_000n) * 1_000_000n).toString();
  nc.publish(heartbeatSubject('slow-clock'), JSON.stringify({ ...hb, host: 'slow-clock', ts: slowTs }));
  const s = await waitFor('sensors in status', async () => {
    const r = await api<StatusReport>('/api/v1/status');
    return r.body.sensors.some((x) => x.host === HOST) &&
      r.body.sensors.some((x) => x.host === 'slow-clock') &&
      (r.body.controlPlane.heartbeatRejects['host-mismatch'] ?? 0) >= 1
      ? r.body
      : null;
  });
  assert.equal(s.sensors.find((x) => x.host === HOST)?.silent, false);
  assert.equal(
    s.sensors.some((x) => x.host === 'intruder'),
    false,
  );
  const slow = s.sensors.find((x) => x.host === 'slow-clock')!;
  assert.equal(slow.silent, false);
  assert.ok(slow.ageSeconds < 10, `age by arrival (${slow.ageSeconds} s)`);
  assert.ok(
    slow.clockSkewSeconds < -115 && slow.clockSkewSeconds > -130,
    `its clock two minutes behind (${slow.clockSkewSeconds} s)`,
  );
});

test('Prometheus scrapes /metrics: what is stored, what each sensor counts and its stage latencies, as the status says', async () => {
  const host = 'metrics-host';
  const hb: HeartbeatV1 = {
    v: 1,
    host,
    ts: (BigInt(Date.now()) * 1_000_000n).toString(),
    sensorVersion: 't',
    startedTs: '1',
    counters: {
      recordsRead: 50,
      eventsPublished: 40,
      eventsDropped: 2,
      lostEvents: 1,
      rejects: { 'exec.schema': 3 },
      queueDepth: 0,
      processCacheSize: 9,
    },
    probes: [{ name: 'exec', state: 'running', restarts: 0, lostEvents: 1, lastError: null }],
    latency: { boundsMs: [10, 50], stages: { 'exec.read': { count: 4, sumMs: 80, maxMs: 60, buckets: [1, 2, 1] } } },
  };
  // Two heartbeats of one run, 5 s apart by the sensor's clock, 0.5 s of CPU between them.
  const footprint = (processCpuSeconds: number, probeCpuSeconds: number) => ({
    processRssBytes: 1,
    probeRssBytes: 1,
    compilerRssReleasedBytes: 0,
    processCpuSeconds,
    probeCpuSeconds,
  });
  const fiveSecondsAgo = ((BigInt(Date.now()) - 5000n) * 1_000_000n).toString();
  nc.publish(
    heartbeatSubject(host),
    JSON.stringify({ ...hb, ts: fiveSecondsAgo, sensorPid: 77, footprint: footprint(1, 0.5) }),
  );
  nc.publish(heartbeatSubject(host), JSON.stringify({ ...hb, sensorPid: 77, footprint: footprint(1.3, 0.7) }));
  const sensor = await waitFor('the second heartbeat in status', async () =>
    (await api<StatusReport>('/api/v1/status')).body.sensors.find(
      (s) => s.host === host && s.footprint?.processCpuSeconds === 1.3,
    ),
  );
  assert.ok(Math.abs(sensor.cpuCores! - 0.1) < 1e-9, `CPU between the two heartbeats: ${sensor.cpuCores} cores`);
  const ev = execEvent(1);
  await publish(ev);
  await waitFor(
    'the event stored',
    async () => (await sql(`SELECT count() AS n FROM events WHERE id = '${ev.id}'`)).body.rows?.[0]?.n === 1,
  );

  const storedBefore = (await api<StatusReport>('/api/v1/status')).body.controlPlane.stored;
  const res = await fetch(`${cp.apiUrl}/metrics`);
  const text = await res.text();
  const storedAfter = (await api<StatusReport>('/api/v1/status')).body.controlPlane.stored;
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const value = (series: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    assert.ok(line, `${series} in the scrape`);
    return Number(line.slice(series.length + 1));
  };
  const stored = value('vigil_events_stored_total');
  assert.ok(
    stored >= storedBefore && stored <= storedAfter && stored >= 1,
    `stored ${stored}, status ${storedBefore}..${storedAfter}`,
  );
  assert.equal(value('vigil_storage_healthy'), 1);
  assert.equal(value('vigil_nats_connected'), 1);
  assert.equal(value(`vigil_sensor_up{host="${host}"}`), 1);
  assert.equal(value(`vigil_sensor_events_dropped_total{host="${host}"}`), 2);
  assert.equal(value(`vigil_sensor_rejects_total{host="${host}",reason="exec.schema"}`), 3);
  assert.equal(value(`vigil_sensor_probe_lost_events_total{host="${host}",probe="exec"}`), 1);
  assert.equal(value(`vigil_sensor_stage_latency_seconds_bucket{host="${host}",stage="exec.read",le="0.05"}`), 3);
  assert.equal(value(`vigil_sensor_stage_latency_seconds_bucket{host="${host}",stage="exec.read",le="+Inf"}`), 4);
  assert.equal(value(`vigil_sensor_cpu_seconds_total{host="${host}",part="probes"}`), 0.7);
  assert.ok(value('process_resident_memory_bytes') > 0, "the control plane process's own memory");
  assert.ok(value('vigil_detection_state_bytes') > 0, "the detection engine holds the stored event's process");
  assert.ok(value('vigil_detection_state_bytes') <= value('vigil_detection_state_budget_bytes'));
  assert.equal(value('vigil_detection_state_released_total{reason="bytes"}'), 0);
});
