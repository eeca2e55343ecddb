import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CredentialsError,
  envLine,
  hostTlsFiles,
  readCa,
  SENSOR_CA_FILE,
  SENSOR_CLIENT_CERT_FILE,
  SENSOR_CLIENT_KEY_FILE,
  sensorEnv,
} from './credentials.js';

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

test('enrollment with the CA: a fresh token from the API, VIGIL_CA naming the CA deploy installs, and the client certificate with --client-certs', async () => {
  const server = createServer((req, res) => {
    assert.equal(req.url, '/api/v1/hosts/tokens');
    assert.equal(req.headers.authorization, 'Bearer t0k');
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify({ token: 'vet_abc', id: 't1', expiresTs: new Date(Date.now() + 3600_000).toISOString(), uses: 1 }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const env = await sensorEnv('gpu-7', undefined, {
      kind: 'enroll',
      api: { url, token: 't0k', tokenSource: 'test' },
      enrollUrl: 'https://cp.example:8787',
      ca: '-----BEGIN CERTIFICATE-----\n',
      clientCert: async () => ({ certPem: '', keyPem: '' }),
    });
    assert.match(
      env,
      new RegExp(`^VIGIL_CLIENT_CERT="${SENSOR_CLIENT_CERT_FILE}"\nVIGIL_CLIENT_KEY="${SENSOR_CLIENT_KEY_FILE}"$`, 'm'),
    );
    assert.match(env, /^VIGIL_ENROLL_URL="https:\/\/cp\.example:8787"$/m);
    assert.match(env, /^VIGIL_ENROLL_TOKEN="vet_abc"$/m);
    assert.match(env, new RegExp(`^VIGIL_CA="${SENSOR_CA_FILE}"$`, 'm'));
  } finally {
    server.close();
  }
  assert.throws(() => readCa('/etc/hostname'), /holds no PEM certificate/);
});

test('with --client-certs a host gets the CA, its own certificate and its key (root only), and sensor.env names them', async () => {
  const creds = {
    kind: 'enroll' as const,
    api: { url: 'http://127.0.0.1:1', token: 't', tokenSource: 'test' },
    enrollUrl: 'https://cp.example:8787',
    ca: 'CA PEM',
    clientCert: async (host: string) => ({ certPem: `CERT ${host}`, keyPem: `KEY ${host}` }),
  };
  assert.deepEqual(await hostTlsFiles('gpu-7', creds), [
    { path: SENSOR_CA_FILE, content: 'CA PEM', mode: 0o644 },
    { path: SENSOR_CLIENT_CERT_FILE, content: 'CERT gpu-7', mode: 0o644 },
    { path: SENSOR_CLIENT_KEY_FILE, content: 'KEY gpu-7', mode: 0o600 },
  ]);
  await assert.rejects(
    hostTlsFiles('gpu-7', {
      ...creds,
      clientCert: async () => {
        throw new Error('no CA key');
      },
    }),
    (err: Error) => err instanceof CredentialsError && /no client certificate for gpu-7: no CA key/.test(err.message),
  );
  assert.deepEqual(await hostTlsFiles('gpu-7', { kind: 'static', user: 'u', password: 'p' }), []);
});
