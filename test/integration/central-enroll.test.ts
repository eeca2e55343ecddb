/**
 * A control plane started alone (`vigil control-plane --nats-secrets DIR`, as the Kubernetes
 * manifests run it) against a nats-server you run with the authorization `vigil nats-config` prints:
 * nats-server admits only user JWTs of the operator's account (a client with no credential is
 * refused), the control plane connects with its own, and a sensor enrolls at it with a token, then
 * heartbeats and sends its events under its own host id; a revoked host is cut off.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, credsAuthenticator } from 'nats';
import { pino } from 'pino';
import { SENSOR_CREDS_FILE, sensorInboxPrefix, type EnrollToken, type EventV1, type HostsReport } from '@vigil/schema';
import { startLocalNats, type LocalNats } from '@vigil/cli/nats-server';
import { CLI, freePort, startVigil, tempDir, vigil, vigilJson, waitFor } from '../support/harness.js';

const dir = tempDir('central-enroll');
const secrets = join(dir, 'nats-secrets');
const cpData = join(dir, 'cp');
const HOST = `central-${process.pid}`;
let nats: LocalNats;
let cp: ReturnType<typeof startVigil>;
let sensor: ReturnType<typeof startVigil> | undefined;
let api = '';

before(async () => {
  const printed = spawnSync(
    process.execPath,
    [CLI, 'nats-config', '--secrets', secrets, '--resolver-dir', join(dir, 'accounts'), '--data-dir', cpData],
    { encoding: 'utf8' },
  );
  assert.equal(printed.status, 0, printed.stderr);
  assert.match(printed.stdout, /^operator: "ey/m);
  writeFileSync(join(dir, 'auth.conf'), printed.stdout);
  nats = await startLocalNats({
    dataDir: dir,
    port: await freePort(),
    configFile: join(dir, 'auth.conf'),
    log: pino({ level: 'silent' }),
  });
  const apiPort = await freePort();
  api = `http://127.0.0.1:${apiPort}`;
  cp = startVigil([
    'control-plane',
    '--nats',
    nats.url,
    '--nats-secrets',
    secrets,
    '--data-dir',
    cpData,
    '--api-port',
    String(apiPort),
  ]);
  await waitFor(
    'the control plane connected with its own credential',
    () => vigilJson<{ controlPlane: { nats: string } }>(api, ['status']).controlPlane.nats === 'connected',
    60_000,
    500,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n--- control plane ---\n${cp.logs.join('').slice(-3000)}`);
  });
});

after(async () => {
  if (sensor) await sensor.stop();
  await cp?.stop();
  await nats?.stop();
});

test('nats-server admits no client without a user JWT of the account', async () => {
  await assert.rejects(
    connect({ servers: nats.url, maxReconnectAttempts: 0 }),
    /Authorization Violation|AUTHORIZATION_VIOLATION/i,
  );
});

test('a sensor enrolls at the control plane started alone, heartbeats and sends under its host id; revoked, it is cut off', async () => {
  const { token } = vigilJson<EnrollToken>(api, ['hosts', 'token', 'create']);
  sensor = startVigil([
    'sensor',
    '--enroll',
    api,
    '--token',
    token,
    '--creds-dir',
    join(dir, 'creds'),
    '--spool-dir',
    join(dir, 'spool'),
    '--host-id',
    HOST,
    '--probe',
    'exec',
  ]);
  await waitFor(
    'the enrolled host heartbeating',
    () => vigilJson<HostsReport>(api, ['hosts']).hosts.some((h) => h.host === HOST && h.lastHeartbeatTs !== null),
    90_000,
    1000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n--- sensor ---\n${sensor!.logs.join('').slice(-3000)}`);
  });
  const marker = join(dir, `central-marker-${process.pid}`);
  copyFileSync('/bin/true', marker);
  spawnSync('chmod', ['755', marker]);
  await waitFor(
    "the marker's exec stored under the enrolled host",
    () => {
      spawnSync(marker);
      return vigilJson<EventV1[]>(api, ['events', '--exe', marker, '--host', HOST, '--kind', 'exec']).length > 0;
    },
    60_000,
    1000,
  );
  const creds = readFileSync(join(dir, 'creds', SENSOR_CREDS_FILE));
  const asHost = () =>
    connect({
      servers: nats.url,
      authenticator: credsAuthenticator(creds),
      inboxPrefix: sensorInboxPrefix(HOST),
      maxReconnectAttempts: 0,
    });
  await (await asHost()).close();
  const revoked = vigil(api, ['hosts', 'revoke', HOST]);
  assert.equal(revoked.status, 0, revoked.stderr);
  await assert.rejects(asHost(), /Authorization Violation/);
  assert.equal(vigilJson<HostsReport>(api, ['hosts']).hosts.find((h) => h.host === HOST)?.state, 'revoked');
});
