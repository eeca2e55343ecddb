/**
 * What a hostile workload can send the control plane through NATS, tried against a real nats-server
 * and a real control plane (chDB): a poison message (nested too deep to re-serialize) is dead-lettered
 * once, as sent, and counted, and the control plane stays up; a killed sensor's heartbeat re-published
 * does not hide it; a flood of forged hosts is bounded (hosts tracked, sensor.silent, /metrics) and a
 * restart raises nothing again; a deleted durable consumer is noticed, said and recreated where it
 * stopped, nothing delivered twice and nothing skipped.
 *
 * One nats-server and one data directory for the file (chDB keeps one per process): tests use hosts of
 * their own, and the flood comes last (it fills the bound on hosts).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { connect, type JetStreamClient, type NatsConnection } from 'nats';
import { pino } from 'pino';
import {
  CONSUMER_NAME,
  startControlPlane,
  type ControlPlaneConfig,
  type RunningControlPlane,
} from '@vigil/control-plane';
import {
  DEAD_LETTER_STREAM,
  EVENTS_STREAM,
  eventSubject,
  heartbeatSubject,
  type AlertV1,
  type EventV1,
  type HeartbeatV1,
  type QueryResult,
} from '@vigil/schema';
import { startLocalNats, type LocalNats } from '@vigil/cli/nats-server';
import { freePort, tempDir, waitFor } from '../support/harness.js';

const dir = tempDir('hostile');
const TOKEN = randomUUID();
const MAX_HOSTS = 16;
const SILENT_AFTER_S = 3;
/** What the control plane logs, to count its messages. */
const logged: { msg: string; level: number }[] = [];
const log = pino(
  { level: 'info' },
  {
    write: (line: string) => {
      logged.push(JSON.parse(line) as { msg: string; level: number });
    },
  },
);
let nats: LocalNats;
let nc: NatsConnection;
let js: JetStreamClient;
let cp: RunningControlPlane;

const startCp = async (): Promise<RunningControlPlane> =>
  startControlPlane({
    storage: { kind: 'embedded', dataDir: `${dir}/clickhouse` },
    nats: { servers: nats.url },
    api: { host: '127.0.0.1', port: await freePort(), token: TOKEN },
    silentAfterSeconds: SILENT_AFTER_S,
    maxHosts: MAX_HOSTS,
    batchSize: 500,
    storeLingerMs: 50,
    log,
  } satisfies ControlPlaneConfig);

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(`${cp.apiUrl}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...init.headers },
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${text.slice(0, 200)}`);
  return (path === '/metrics' ? text : JSON.parse(text)) as T;
}
const count = async (sql: string): Promise<number> =>
  Number((await api<QueryResult>('/api/v1/query', { method: 'POST', body: JSON.stringify({ sql }) })).rows[0]!.n);
type Status = {
  controlPlane: {
    stored: number;
    rejects: Record<string, number>;
    heartbeatRejects: Record<string, number>;
    heartbeats: { hosts: number; maxHosts: number };
    consumer: { healthy: boolean; problem: string | null; recreated: number; lastProblem: string | null };
  };
  sensors: { host: string; silent: boolean; stopped: boolean }[];
};
const status = () => api<Status>('/api/v1/status');
const alerts = async (rule: string, host?: string) =>
  (await api<{ alerts: AlertV1[] }>(`/api/v1/alerts?rule=${rule}&limit=10000${host ? `&host=${host}` : ''}`)).alerts;

const proc = (pid: number, argv: string[]) => ({
  pid,
  ppid: 1,
  uid: 1000,
  gid: 1000,
  comm: argv[0]!.split('/').pop()!,
  exe: argv[0]!,
  argv,
  argvTruncated: false,
  cgroupId: 1,
  cgroup: '/',
  containerId: null,
  job: null,
  startTs: null,
  ancestry: [],
  ancestryTruncated: false,
});
const execEvent = (host: string, pid: number, argv = ['/bin/true']): EventV1 => ({
  id: randomUUID(),
  v: 1,
  host,
  ts: (BigInt(Date.now()) * 1_000_000n).toString(),
  kind: 'exec',
  proc: proc(pid, argv),
  exec: { filename: argv[0]!, argv, argvTruncated: false, ret: 0 },
});
const heartbeat = (
  host: string,
  run: { startedTs: string; sensorPid: number },
  seq: number,
  extra: Partial<HeartbeatV1> = {},
): HeartbeatV1 => ({
  v: 1,
  host,
  ts: (BigInt(Date.now()) * 1_000_000n).toString(),
  sensorVersion: 't',
  ...run,
  seq,
  counters: {
    recordsRead: 0,
    eventsPublished: seq,
    eventsDropped: 0,
    lostEvents: 0,
    rejects: {},
    queueDepth: 0,
    processCacheSize: 0,
  },
  probes: [{ name: 'exec', state: 'running', restarts: 0, lostEvents: 0, lastError: null }],
  ...extra,
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  nats = await startLocalNats({ dataDir: dir, port: await freePort(), log: pino({ level: 'silent' }) });
  cp = await startCp();
  nc = await connect({ servers: nats.url });
  js = nc.jetstream();
});

after(async () => {
  await nc?.close();
  await cp?.stop();
  await nats?.stop();
});

test('a batch element nested 200,000 deep (400 KB) is dead-lettered once as sent, counted; the control plane stays up and stores what follows', async () => {
  const host = 'poison-host';
  const jsm = await nc.jetstreamManager();
  const subject = eventSubject(host, 'exec');
  const before = execEvent(host, 10);
  const poison = `{"v":1,"host":"${host}","kind":"exec","events":[${JSON.stringify(execEvent(host, 11))},${'['.repeat(200_000)}${']'.repeat(200_000)}]}`;
  // A bad element that only its own bytes keep as sent: 1e400 parses to Infinity, which JSON writes as null.
  const oddElement = '{"id": 1e400, "kind": "exec", "why": "\\udc00"}';
  const good = execEvent(host, 12);
  const odd = `{"v":1,"host":"${host}","kind":"exec","events":[${JSON.stringify(good)},${oddElement}]}`;
  await js.publish(subject, JSON.stringify(before));
  const poisonSeq = (await js.publish(subject, poison)).seq;
  await js.publish(subject, odd);
  const after = execEvent(host, 13);
  await js.publish(subject, JSON.stringify(after));
  await waitFor(
    'the events after the poison stored',
    async () =>
      (await count(`SELECT count() AS n FROM events WHERE id IN ('${before.id}', '${good.id}', '${after.id}')`)) === 3,
    30_000,
  );

  const s = await status();
  assert.equal(s.controlPlane.rejects['too-deep'], 1);
  assert.equal(s.controlPlane.rejects.schema, 1);
  const parked = await jsm.streams.getMessage(DEAD_LETTER_STREAM, { last_by_subj: 'vigil.deadletter.too-deep' });
  assert.equal(new TextDecoder().decode(parked.data), poison, 'the raw message, as sent');
  assert.equal(parked.header.get('Vigil-Reason'), 'too-deep');
  assert.equal(parked.header.get('Vigil-Stream-Seq'), String(poisonSeq));
  const element = await jsm.streams.getMessage(DEAD_LETTER_STREAM, { last_by_subj: 'vigil.deadletter.schema' });
  assert.equal(new TextDecoder().decode(element.data), oddElement, "the bad element's own bytes, not re-serialized");
  assert.equal(element.header.get('Vigil-Index'), '1');
  // Acked: never delivered again, so no restart meets it again.
  const info = await jsm.consumers.info(EVENTS_STREAM, CONSUMER_NAME);
  assert.ok(
    info.ack_floor.stream_seq >= poisonSeq,
    `acked past the poison (ack floor ${info.ack_floor.stream_seq}, poison ${poisonSeq})`,
  );
  const dlq = await jsm.streams.info(DEAD_LETTER_STREAM, { subjects_filter: 'vigil.deadletter.too-deep' });
  assert.equal(dlq.state.subjects?.['vigil.deadletter.too-deep'], 1, 'dead-lettered once');
  const metrics = await api<string>('/metrics');
  assert.match(metrics, /^vigil_events_rejected_total\{reason="too-deep"\} 1$/m);
});

test("a killed sensor's heartbeat re-published, and an earlier run's stopping one, are refused as replayed: the sensor is reported silent, not stopped", async () => {
  const host = 'victim-host';
  const now = Date.now();
  const earlier = { startedTs: ((BigInt(now) - 600_000n) * 1_000_000n).toString(), sensorPid: 100 };
  const run = { startedTs: ((BigInt(now) - 60_000n) * 1_000_000n).toString(), sensorPid: 200 };
  // An earlier run that stopped in order; the workload captured its last heartbeat.
  nc.publish(heartbeatSubject(host), JSON.stringify(heartbeat(host, earlier, 0)));
  const stopping = JSON.stringify(heartbeat(host, earlier, 1, { stopping: true }));
  nc.publish(heartbeatSubject(host), stopping);
  await waitFor('sensor.stopped for the earlier run', async () => (await alerts('sensor.stopped', host)).length === 1);
  // The present run, whose heartbeats the workload sees too.
  let last = '';
  for (let seq = 0; seq < 3; seq++) {
    last = JSON.stringify(heartbeat(host, run, seq));
    nc.publish(heartbeatSubject(host), last);
  }
  await waitFor('the present run in status', async () =>
    (await status()).sensors.some((x) => x.host === host && !x.stopped && !x.silent),
  );
  // The sensor is killed. The workload re-publishes copies of what it captured, as long as it likes.
  const replaying = setInterval(() => {
    nc.publish(heartbeatSubject(host), last);
    nc.publish(heartbeatSubject(host), stopping);
  }, 300);
  try {
    const silent = await waitFor('sensor.silent', async () => (await alerts('sensor.silent', host))[0], 20_000, 250);
    assert.equal(silent.severity, 'critical');
    const s = await status();
    const sensor = s.sensors.find((x) => x.host === host)!;
    assert.equal(sensor.silent, true);
    assert.equal(sensor.stopped, false);
    assert.ok(
      (s.controlPlane.heartbeatRejects.replayed ?? 0) >= 2,
      `replays counted: ${JSON.stringify(s.controlPlane.heartbeatRejects)}`,
    );
  } finally {
    clearInterval(replaying);
  }
});

test('a deleted durable consumer is noticed, said and recreated where it stopped: later events stored exactly once, earlier alerts not raised again', async () => {
  const host = 'consumer-host';
  const miner = execEvent(host, 500, ['/tmp/kworker', '-o', 'stratum+tcp://pool.supportxmr.com:3333']);
  await js.publish(eventSubject(host, 'exec'), JSON.stringify(miner));
  await waitFor('the miner alert', async () => (await alerts('miner.exec', host)).length === 1);
  await waitFor(
    'the miner event stored',
    async () => (await count(`SELECT count() AS n FROM events WHERE id = '${miner.id}'`)) === 1,
  );
  const missingLogged = () => logged.filter((l) => /durable consumer .* is missing/.test(l.msg)).length;
  assert.equal(missingLogged(), 0);

  // Any local user reaching NATS without credentials could do this.
  const other = await connect({ servers: nats.url });
  try {
    const jsm = await other.jetstreamManager();
    // nats-server may answer a delete with an error while it removes the consumer's files (its
    // directory busy with a write): it is gone once its info says so.
    // The control plane may recreate it between two looks: a consumer created after the original
    // is the recreated one, and must not be deleted again.
    const original = (await jsm.consumers.info(EVENTS_STREAM, CONSUMER_NAME)).created;
    await waitFor(
      'the consumer deleted',
      async () => {
        const now = await jsm.consumers.info(EVENTS_STREAM, CONSUMER_NAME).catch(() => null);
        if (now === null || now.created !== original) return true;
        await jsm.consumers.delete(EVENTS_STREAM, CONSUMER_NAME).catch(() => false);
        return false;
      },
      10_000,
      100,
    );
  } finally {
    await other.close();
  }
  const later = Array.from({ length: 50 }, (_, i) => execEvent(host, 600 + i));
  for (const ev of later) await js.publish(eventSubject(host, 'exec'), JSON.stringify(ev));
  const ids = later.map((e) => `'${e.id}'`).join(',');
  await waitFor(
    'the 50 events published after the deletion stored',
    async () => (await count(`SELECT uniqExact(id) AS n FROM events WHERE id IN (${ids})`)) === 50,
    60_000,
    250,
  );

  const s = await status();
  assert.equal(s.controlPlane.consumer.recreated, 1);
  assert.match(s.controlPlane.consumer.lastProblem ?? '', /durable consumer vigil-control-plane .* is missing/);
  assert.equal(missingLogged(), 1, 'logged once');
  await waitFor('healthy again', async () => (await status()).controlPlane.consumer.healthy);
  // Not replayed from the stream's start: nothing stored twice, the miner alert not raised again.
  assert.equal(
    await count(`SELECT count() AS n FROM events WHERE id IN (${ids})`),
    50,
    'each stored once (rows, not folded)',
  );
  assert.equal(await count(`SELECT count() AS n FROM events WHERE id = '${miner.id}'`), 1);
  const minerAlerts = await alerts('miner.exec', host);
  assert.equal(minerAlerts.length, 1);
  assert.equal(minerAlerts[0]!.count, 1, 'the miner event was not seen again');
  const info = await (await nc.jetstreamManager()).consumers.info(EVENTS_STREAM, CONSUMER_NAME);
  assert.equal(info.num_pending + info.num_ack_pending, 0, 'everything delivered and acked');
});

test('20,000 forged hosts: at most maxHosts tracked, the rest refused and counted; real events stored; sensor.silent once per tracked host, not again after a restart', async () => {
  const real = 'real-host';
  const run = { startedTs: (BigInt(Date.now()) * 1_000_000n).toString(), sensorPid: 300 };
  nc.publish(heartbeatSubject(real), JSON.stringify(heartbeat(real, run, 0)));
  await waitFor('the real sensor', async () => (await status()).sensors.some((x) => x.host === real));
  const room = MAX_HOSTS - (await status()).sensors.length;
  const FORGED = 20_000;
  for (let i = 0; i < FORGED; i++) {
    const host = `forged-${i}`;
    nc.publish(heartbeatSubject(host), JSON.stringify(heartbeat(host, run, 0)));
    if (i % 1000 === 0) await nc.flush();
  }
  // Real events during the flood.
  const events = Array.from({ length: 20 }, (_, i) => execEvent(real, 700 + i));
  for (const ev of events) await js.publish(eventSubject(real, 'exec'), JSON.stringify(ev));
  await waitFor(
    'the real events stored',
    async () =>
      (await count(
        `SELECT uniqExact(id) AS n FROM events WHERE id IN (${events.map((e) => `'${e.id}'`).join(',')})`,
      )) === 20,
    30_000,
  );
  assert.ok((await status()).sensors.length <= MAX_HOSTS, 'sensors listed within the bound');
  const refused = FORGED - room;
  const s = await waitFor(
    'the flood counted',
    async () => {
      const x = await status();
      return (x.controlPlane.heartbeatRejects['too-many-hosts'] ?? 0) === refused ? x : null;
    },
    60_000,
    250,
  );
  assert.equal(s.controlPlane.heartbeats.hosts, MAX_HOSTS);
  assert.equal(s.sensors.length, MAX_HOSTS);
  const metrics = await api<string>('/metrics');
  assert.equal(
    metrics.split('\n').filter((l) => l.startsWith('vigil_sensor_up{')).length,
    MAX_HOSTS,
    'one series per tracked host',
  );
  assert.match(metrics, new RegExp(`^vigil_heartbeats_rejected_total\\{reason="too-many-hosts"\\} ${refused}$`, 'm'));
  assert.ok(metrics.length < 1024 * 1024, `/metrics is ${metrics.length} bytes`);

  // Every tracked host falls silent: one sensor.silent each (the victim of the test before had its own).
  const tracked = s.sensors.map((x) => x.host).filter((h) => h !== 'victim-host');
  const silentHosts = async () => new Set((await alerts('sensor.silent')).map((a) => a.host));
  await waitFor(
    'sensor.silent for every tracked host',
    async () => {
      const got = await silentHosts();
      return tracked.every((h) => got.has(h));
    },
    30_000,
    500,
  );
  const raised = (await alerts('sensor.silent')).length;
  assert.equal(raised, MAX_HOSTS, 'one per tracked host, none for the refused');

  // A restart reads back at most maxHosts hosts, and raises nothing again for a silence told.
  await cp.stop();
  cp = await startCp();
  const restarted = await status();
  assert.ok(restarted.sensors.length <= MAX_HOSTS);
  await sleep((SILENT_AFTER_S + 3) * 1000);
  assert.equal((await alerts('sensor.silent')).length, raised, 'no sensor.silent raised again after the restart');
});
