import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CredentialsError, envLine, sensorEnv } from './credentials.js';

test("sensor.env's values are quoted so that systemd reads them back as they are", () => {
  assert.equal(envLine('P', 'a"b\\c$d`e'), 'P="a\\"b\\\\c\\$d\\`e"');
  assert.throws(() => envLine('P', 'a\nVIGIL_NATS=evil'), CredentialsError);
});

test('static credentials name each host its own user', async () => {
  const env = await sensorEnv('gpu-7', 'nats://10.0.0.1:4222', {
    kind: 'static',
    user: 'sensor-{host}',
    password: 'pw',
  });
  assert.match(env, /^VIGIL_NATS="nats:\/\/10\.0\.0\.1:4222"$/m);
  assert.match(env, /^VIGIL_NATS_USER="sensor-gpu-7"$/m);
  assert.match(env, /^VIGIL_NATS_PASSWORD="pw"$/m);
});

test('static credentials without a NATS URL are refused, saying what is missing', async () => {
  await assert.rejects(
    sensorEnv('gpu-7', undefined, { kind: 'static', user: '{host}', password: 'pw' }),
    (err: Error) => err instanceof CredentialsError && /--nats-url/.test(err.message),
  );
});
