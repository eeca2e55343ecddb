/**
 * Faults with real processes: the control plane SIGKILLed mid-stream and restarted stores every
 * event exactly once (as read); a SIGKILLed sensor raises sensor.silent within --silent-after, and a
 * sensor stopped in order raises sensor.stopped instead; a SIGSTOPped bpftrace raises
 * sensor.probe-stalled.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { pino } from 'pino';
import { eventSubject, type AlertV1, type EventV1, type StatusReport } from '@vigil/schema';
import { startLocalNats, type LocalNats } from '@vigil/cli/nats-server';
import { authHeaders, freePort, startVigil, tempDir, vigilJson, waitFor } from '../support/harness.js';

const dir = tempDir('faults');
let nats: LocalNats;
let nc: NatsConnection;
let apiPort = 0;
let api = '';
let cp: ReturnType<typeof startVigil> | null = null;

const startCp = () =>
  startVigil([
    'control-plane',
    '--data-dir',
    join(dir, 'ch'),
    '--nats',
    nats.url,
    '--api-port',
    String(apiPort),
    '--silent-after',
    '5',
  ]);
/** Polled often: straight to the API rather than through a CLI process each time. */
async function count(sql: string): Promise<number> {
  const res = await fetch(`${api}/api/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...authHeaders },
    body: JSON.stringify({ sql }),
  });
  const body = (await res.json()) as { rows: { n: string }[] };
  return Number(body.rows[0]!.n);
}

before(async () => {
  nats = await startLocalNats({ dataDir: dir, port: await freePort(), log: pino({ level: 'silent' }) });
  apiPort = await freePort();
  api = `http://127.0.0.1:${apiPort}`;
  cp = startCp();
  await waitFor(
    'the control plane',
    () => vigilJson<StatusReport>(api, ['status']).controlPlane.nats === 'connected',
    60_000,
    300,
  );
  nc = await connect({ servers: nats.url });
});

after(async () => {
  await nc?.close();
  await cp?.stop();
  await nats?.stop();
});

test('control plane SIGKILLed mid-stream, then restarted: every event stored exactly once', async () => {
  const host = 'kill-cp';
  const N = 20_000;
  const proc = {
    pid: 1,
    ppid: 0,
    uid: 0,
    gid: 0,
    comm: 'x',
    exe: '/x',
    argv: ['x'],
    argvTruncated: false,
    cgroupId: 0,
    cgroup: '/',
    containerId: null,
    job: null,
    startTs: null,
    ancestry: [],
    ancestryTruncated: false,
  };
  const js = nc.jetstream();
  const publishing = (async () => {
    for (let i = 0; i < N; i += 500) {
      await Promise.all(
        Array.from({ length: 500 }, (_, k) => {
          const ev: EventV1 = {
            id: randomUUID(),
            v: 1,
            host,
            ts: (BigInt(Date.now()) * 1_000_000n + BigInt(i + k)).toString(),
            kind: 'exit',
            proc,
            exit: { code: i + k, signal: null },
          };
          return js.publish(eventSubject(host, 'exit'), JSON.stringify(ev), { msgID: ev.id });
        }),
      );
    }
  })();
  await waitFor(
    'some events stored',
    async () => (await count(`SELECT count() AS n FROM events WHERE host = '${host}'`)) > 1000,
    60_000,
    100,
  );
  cp!.child.kill('SIGKILL');
  await new Promise((r) => cp!.child.once('exit', r));
  const storedAtKill = await (async () => {
    await publishing;
    return 'published';
  })();
  assert.equal(storedAtKill, 'published', 'the sensors side keeps publishing into JetStream meanwhile');
  cp = startCp();
  await waitFor(
    `all ${N} stored`,
    async () => (await count(`SELECT uniqExact(id) AS n FROM events WHERE host = '${host}'`)) === N,
    120_000,
    500,
  );
  assert.equal(await count(`SELECT count() AS n FROM events FINAL WHERE host = '${host}'`), N, 'exactly once as read');
  assert.equal(
    await count(`SELECT uniqExact(JSONExtractInt(event, 'exit', 'code')) AS n FROM events WHERE host = '${host}'`),
    N,
    'no event missing',
  );
  const physical = await count(`SELECT count() AS n FROM events WHERE host = '${host}'`);
  console.log(
    `# SIGKILL mid-stream: ${N} events, ${N} unique stored, ${physical - N} redelivered copies folded by the table`,
  );
});

/** `vigil sensor` (exec probe only) as `host`, spooling under `spool`, once its heartbeat arrived. */
async function sensorHeartbeating(host: string, spool: string) {
  const sensor = startVigil([
    'sensor',
    '--nats',
    nats.url,
    '--host-id',
    host,
    '--probe',
    'exec',
    '--spool-dir',
    join(dir, spool),
  ]);
  await waitFor(
    'its heartbeat',
    () => vigilJson<StatusReport>(api, ['status']).sensors.some((s) => s.host === host),
    60_000,
    300,
  );
  return sensor;
}

test('a SIGKILLed sensor raises sensor.silent within --silent-after', async () => {
  const host = 'kill-sensor';
  const sensor = await sensorHeartbeating(host, 'spool');
  const t0 = Date.now();
  sensor.child.kill('SIGKILL');
  const alert = await waitFor(
    'sensor.silent',
    () => vigilJson<AlertV1[]>(api, ['alerts', '--rule', 'sensor.silent', '--host', host])[0],
    30_000,
    250,
  );
  console.log(
    `# sensor SIGKILLed → sensor.silent after ${Date.now() - t0} ms (silent-after 5 s, heartbeats every 5 s)`,
  );
  // Raised for this silence, not an earlier one: after the kill (how soon is bench/ material).
  assert.ok(BigInt(alert.ts) >= BigInt(t0) * 1_000_000n, `raised after the kill (${alert.ts})`);
  assert.equal(alert.severity, 'critical');
  assert.match(alert.reason, /no heartbeat from the sensor on kill-sensor/);
  const silentFor = Number(/for (\d+) s/.exec(alert.reason)?.[1]);
  assert.ok(silentFor >= 5, `not before --silent-after 5s (${alert.reason})`);
  const status = vigilJson<StatusReport>(api, ['status']);
  assert.equal(status.sensors.find((s) => s.host === host)?.silent, true);
});

test('a sensor stopped with SIGINT raises sensor.stopped, and is not taken for silent', async () => {
  const host = 'stop-sensor';
  const sensor = await sensorHeartbeating(host, 'spool-stop');
  assert.equal(await sensor.stop(), 0);
  const alert = await waitFor(
    'sensor.stopped',
    () => vigilJson<AlertV1[]>(api, ['alerts', '--rule', 'sensor.stopped', '--host', host])[0],
    20_000,
    250,
  );
  assert.equal(alert.severity, 'medium');
  assert.match(alert.reason, /the sensor on stop-sensor stopped in order/);
  // Past --silent-after (5 s) and a tick more: still stopped, never silent.
  await new Promise((r) => setTimeout(r, 7_000));
  assert.deepEqual(vigilJson<AlertV1[]>(api, ['alerts', '--rule', 'sensor.silent', '--host', host]), []);
  const s = vigilJson<StatusReport>(api, ['status']).sensors.find((x) => x.host === host);
  assert.equal(s?.silent, false);
  assert.equal(s?.stopped, true);
});

test('a SIGSTOPped bpftrace raises sensor.probe-stalled, and the sensor resumes it', async () => {
  const host = 'stall-sensor';
  const sensor = startVigil([
    'sensor',
    '--nats',
    nats.url,
    '--host-id',
    host,
    '--probe',
    'exec',
    '--spool-dir',
    join(dir, 'spool-stall'),
  ]);
  const exec = () =>
    vigilJson<StatusReport>(api, ['status'])
      .sensors.find((s) => s.host === host)
      ?.probes.find((p) => p.name === 'exec');
  try {
    const before = await waitFor(
      'its probe running',
      () => {
        const p = exec();
        return p?.state === 'running' && p.pid ? p : null;
      },
      90_000,
      300,
    );
    process.kill(before.pid!, 'SIGSTOP');
    const alert = await waitFor(
      'sensor.probe-stalled',
      () => vigilJson<AlertV1[]>(api, ['alerts', '--rule', 'sensor.probe-stalled', '--host', host])[0],
      30_000,
      250,
    );
    assert.equal(alert.severity, 'high');
    assert.match(alert.reason, /^probe exec on stall-sensor stalled/);
    // Stopped by a signal: the sensor sends SIGCONT itself; the same process runs on.
    const after = await waitFor(
      'the probe resumed',
      () => {
        const p = exec();
        return p?.state === 'running' && p.stalls === 1 ? p : null;
      },
      30_000,
      300,
    );
    assert.equal(after.pid, before.pid);
    assert.equal(after.restarts, before.restarts);
  } finally {
    await sensor.stop();
  }
});
