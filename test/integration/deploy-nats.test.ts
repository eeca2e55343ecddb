/**
 * deploy/nats-server.conf as shipped, on a real nats-server: its passwords come from nats-server's
 * environment (a variable's name is no password), and a host reads nothing but its own replies: not
 * the control plane's pull deliveries (every host's events), not the JetStream API. A real control
 * plane and sensor run through the CLI with the users it defines and their default inbox prefixes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'nats';
import { pino } from 'pino';
import {
  responseOrderSubject,
  CONTROL_PLANE_INBOX_PREFIX,
  EVENTS_STREAM,
  eventSubject,
  sensorInboxPrefix,
  type ExecEventV1,
  type HostsReport,
  type StatusReport,
} from '@vigil/schema';
import { startLocalNats, type LocalNats } from '@vigil/cli/nats-server';
import { freePort, REPO, startVigil, subscriptionRefused, tempDir, vigilJson, waitFor } from '../support/harness.js';

const dir = tempDir('deploy');
const log = pino({ level: 'silent' });
const HOST = 'gpu-node-1';
// As deploy/nats-server.conf says to make them: a letter first (nats-server reads a leading digit as a number).
const SENSOR_PASSWORD = `v${randomBytes(32).toString('hex')}`;
const CONTROL_PLANE_PASSWORD = `v${randomBytes(32).toString('hex')}`;
let nats: LocalNats;
let api = '';
let cp: ReturnType<typeof startVigil>;

before(async () => {
  const shipped = readFileSync(join(REPO, 'deploy', 'nats-server.conf'), 'utf8');
  // startLocalNats gives JetStream its store (-js -sd), which the file's own store_dir would clash with.
  const conf = shipped.replace(/^jetstream \{[^}]*\}\n/m, '');
  assert.notEqual(conf, shipped);
  writeFileSync(join(dir, 'nats.conf'), conf);
  nats = await startLocalNats({
    dataDir: dir,
    port: await freePort(),
    configFile: join(dir, 'nats.conf'),
    log,
    env: { SENSOR_GPU_NODE_1_PASSWORD: SENSOR_PASSWORD, CONTROL_PLANE_PASSWORD },
  });
  const apiPort = await freePort();
  api = `http://127.0.0.1:${apiPort}`;
  cp = startVigil(
    [
      'control-plane',
      '--data-dir',
      join(dir, 'ch'),
      '--nats',
      nats.url,
      '--nats-user',
      'control-plane',
      '--api-port',
      String(apiPort),
    ],
    { VIGIL_NATS_PASSWORD: CONTROL_PLANE_PASSWORD },
  );
  await waitFor(
    'the control plane on NATS',
    () => vigilJson<StatusReport>(api, ['status']).controlPlane.nats === 'connected',
    60_000,
    300,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${cp.logs.join('').slice(-3000)}`);
  });
});

after(async () => {
  try {
    assert.equal(await cp?.stop(), 0);
  } finally {
    await nats?.stop();
  }
});

test("a password variable's name is no password: the value nats-server was given is", async () => {
  for (const [user, literal] of [
    [HOST, '$SENSOR_GPU_NODE_1_PASSWORD'],
    ['control-plane', '$CONTROL_PLANE_PASSWORD'],
  ] as const) {
    await assert.rejects(
      connect({ servers: nats.url, user, pass: literal, maxReconnectAttempts: 0 }),
      /Authorization Violation/i,
      user,
    );
  }
  const nc = await connect({ servers: nats.url, user: HOST, pass: SENSOR_PASSWORD, maxReconnectAttempts: 0 });
  await nc.close();
});

test("a real sensor publishes with the shipped permissions and gets JetStream's acks on its own inbox", async () => {
  const sensor = startVigil(
    [
      'sensor',
      '--nats',
      nats.url,
      '--nats-user',
      HOST,
      '--host-id',
      HOST,
      '--probe',
      'exec',
      '--spool-dir',
      join(dir, 'spool'),
    ],
    { VIGIL_NATS_PASSWORD: SENSOR_PASSWORD },
  );
  try {
    const marker = `deploy-${randomUUID()}`;
    await waitFor(
      'its exec stored',
      () => {
        spawnSync('/bin/true', [marker]);
        return vigilJson<ExecEventV1[]>(api, ['events', '--host', HOST, '--kind', 'exec', '--limit', '1000']).some(
          (e) => e.exec.argv[1] === marker,
        );
      },
      60_000,
      1000,
    );
    // Acked publishes only are counted as published: the acks reached the sensor.
    const published = await waitFor(
      'its heartbeat with published events',
      () =>
        vigilJson<StatusReport>(api, ['status']).sensors.find((s) => s.host === HOST && s.counters.eventsPublished > 0),
      30_000,
      500,
    );
    assert.ok(published.counters.eventsPublished > 0);
    // No enrollment on this control plane: `vigil hosts` lists the host from its heartbeats.
    const listed = vigilJson<HostsReport>(api, ['hosts']);
    assert.deepEqual(listed.hosts, []);
    assert.deepEqual(
      listed.notEnrolled?.map((h) => [h.host, h.version, h.probes.exec]),
      [[HOST, published.sensorVersion, 'running']],
    );
  } finally {
    assert.equal(await sensor.stop(), 0);
  }
});

test("a host reads no one else's replies (the control plane's pull deliveries), no events, and cannot use the JetStream API", async () => {
  const nc = await connect({
    servers: nats.url,
    user: HOST,
    pass: SENSOR_PASSWORD,
    inboxPrefix: sensorInboxPrefix(HOST),
  });
  try {
    assert.equal(await subscriptionRefused(nc, `${CONTROL_PLANE_INBOX_PREFIX}.>`), true);
    assert.equal(await subscriptionRefused(nc, '_INBOX.>'), true);
    assert.equal(await subscriptionRefused(nc, 'vigil.events.>'), true);
    assert.equal(
      await subscriptionRefused(nc, `${sensorInboxPrefix('gpu-node-2')}.>`),
      true,
      "another sensor's replies",
    );
    assert.equal(await subscriptionRefused(nc, `${sensorInboxPrefix(HOST)}.x`), false, 'its own');
    assert.equal(await subscriptionRefused(nc, responseOrderSubject(HOST)), false, 'its own response orders');
    assert.equal(await subscriptionRefused(nc, responseOrderSubject('gpu-node-2')), true, "another host's orders");
    await assert.rejects(
      nc.request(`$JS.API.CONSUMER.DELETE.${EVENTS_STREAM}.vigil-control-plane`, ''),
      /Permissions Violation for Publish/,
    );
    await assert.rejects(
      nc.jetstream().publish(eventSubject('gpu-node-2', 'exit'), '{}'),
      /Permissions Violation for Publish/,
    );
  } finally {
    await nc.close();
  }
});
