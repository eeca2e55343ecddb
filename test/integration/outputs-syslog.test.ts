/**
 * The syslog output against Debian's rsyslog, started by this test with its own configuration on
 * loopback: UDP (imudp), TCP with octet-counting framing (imtcp) and a unix stream socket (imptcp).
 * rsyslog parses each message as RFC 5424 (test/support/rsyslog.ts).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from 'nats';
import { join } from 'node:path';
import { pino } from 'pino';
import { StaticConfig, startControlPlane, type RunningControlPlane } from '@vigil/control-plane';
import { startLocalNats, type LocalNats } from '@vigil/cli/nats-server';
import { eventSubject, type AlertV1, type StatusReport } from '@vigil/schema';
import { execEvent } from '../support/ingest-stack.js';
import { freePort, tempDir, waitFor } from '../support/harness.js';
import { startRsyslog, type Rsyslog } from '../support/rsyslog.js';

const dir = tempDir('syslog');
const log = pino({ level: 'silent' });

let rsyslog: Rsyslog;
let nats: LocalNats;
let nc: NatsConnection;
let cp: RunningControlPlane;
const alerts: AlertV1[] = [];
const lines = () => rsyslog.lines();

before(async () => {
  rsyslog = await startRsyslog(dir);
  nats = await startLocalNats({ dataDir: dir, port: await freePort(), log });
  nc = await connect({ servers: nats.url });
  nc.subscribe('vigil.alerts.>', { callback: (_e, m) => alerts.push(m.json<AlertV1>()) });
  const common = { send: 'alerts', facility: 'local3', type: 'syslog' } as const;
  cp = await startControlPlane({
    storage: { kind: 'embedded', dataDir: join(dir, 'ch') },
    nats: { servers: nats.url },
    api: { host: '127.0.0.1', port: await freePort() },
    log,
    config: new StaticConfig({
      outputs: [
        { ...common, name: 'udp', transport: 'udp', address: `127.0.0.1:${rsyslog.udpPort}` },
        { ...common, name: 'tcp', transport: 'tcp', address: `127.0.0.1:${rsyslog.tcpPort}` },
        { ...common, name: 'unix', transport: 'unix', address: rsyslog.sock },
      ],
    }),
  });
});

after(async () => {
  await cp?.stop();
  await nc?.close();
  await nats?.stop();
  await rsyslog?.stop();
});

test('rsyslog receives one parsable RFC 5424 line per alert over UDP, TCP and a unix socket', async () => {
  const host = 'gpu-node-3';
  await nc
    .jetstream()
    .publish(
      eventSubject(host, 'exec'),
      JSON.stringify(execEvent(host, 4242, ['/tmp/.x/xmrig', '-o', 'stratum+tcp://pool"x]\\.example:3333'])),
    );
  const alert = await waitFor('the miner alert', () => alerts.find((a) => a.ruleId === 'miner.exec'));
  const got = await waitFor('its line from each transport', () => {
    const mine = lines().filter((l) => l['structured-data']?.includes(alert.id));
    return ['udp', 'tcp', 'unix'].every((t) => mine.some((l) => l.inputname === t)) && mine;
  });
  for (const l of got) {
    assert.equal(l['protocol-version'], '1', `${l.inputname}: parsed as RFC 5424`);
    // local3 (19) * 8 + crit (2) or err (3).
    assert.equal(l.pri, String(19 * 8 + (alert.severity === 'critical' ? 2 : 3)));
    assert.equal(l.hostname, host);
    assert.equal(l['app-name'], 'vigil');
    assert.equal(l.msgid, 'alert');
    assert.match(
      l['structured-data']!,
      new RegExp(`^\\[vigil@32473 id="${alert.id}" severity="${alert.severity}" rule="miner.exec" host="${host}"\\]$`),
    );
    assert.ok(l.msg!.includes(alert.title), `${l.inputname}: the story is the message`);
  }
  const status = (await (await fetch(`${cp.apiUrl}/api/v1/status`)).json()) as StatusReport;
  for (const o of status.controlPlane.outputs!) assert.ok(o.sent >= 1, `${o.name} counts what it sent`);
});

test('TCP and unix outputs reconnect to a restarted rsyslog; what failed meanwhile is retried, not lost', async () => {
  await rsyslog.stop();
  const host = 'gpu-node-4';
  await nc
    .jetstream()
    .publish(
      eventSubject(host, 'exec'),
      JSON.stringify(execEvent(host, 4343, ['/tmp/.y/xmrig', '-o', 'stratum+tcp://p:3333'])),
    );
  const alert = await waitFor('the miner alert', () =>
    alerts.find((a) => a.ruleId === 'miner.exec' && a.host === host),
  );
  const outputs = async () =>
    ((await (await fetch(`${cp.apiUrl}/api/v1/status`)).json()) as StatusReport).controlPlane.outputs!;
  await waitFor('tcp and unix failing while rsyslog is down', async () =>
    (await outputs()).filter((o) => o.name !== 'udp').every((o) => o.retrying > 0),
  );
  await rsyslog.start();
  await waitFor(
    'the alert over tcp and unix once rsyslog is back',
    () => {
      const mine = lines().filter((l) => l['structured-data']?.includes(alert.id));
      return ['tcp', 'unix'].every((t) => mine.filter((l) => l.inputname === t).length === 1);
    },
    60_000,
  );
  for (const o of await outputs())
    if (o.name !== 'udp') assert.equal(o.retrying, 0, `${o.name}: nothing left to retry`);
});
