import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VigilConfigV1 } from '@vigil/schema';
import { createCerts } from './certs.js';
import { natsTlsBlock } from './local-nats-auth.js';
import { checkListen, localNatsTls, serveTls, TlsSettingsError } from './tls-settings.js';

const certsDir = async () => {
  const d = mkdtempSync(join(tmpdir(), 'vigil-tls-'));
  process.on('exit', () => rmSync(d, { recursive: true, force: true }));
  await createCerts({ dir: d, hosts: [], ips: [], clients: [], force: false });
  return d;
};

test('no TLS unless a certificate is given; --tls-dir names the files vigil certs wrote and reads them', async () => {
  assert.equal(serveTls({}), null);
  const d = await certsDir();
  const tls = serveTls({ 'tls-dir': d })!;
  assert.equal(tls.cert, join(d, 'server.pem'));
  assert.equal(tls.ca, join(d, 'ca.pem'));
  assert.equal(tls.clientAuth, false);
  assert.match(tls.pem.cert, /BEGIN CERTIFICATE/);
  assert.match(tls.pem.key, /BEGIN PRIVATE KEY/);
});

test('flags win over vigil.yaml tls:, clientAuth included', async () => {
  const d = await certsDir();
  const config = VigilConfigV1.parse({
    tls: { cert: join(d, 'server.pem'), key: join(d, 'server-key.pem'), ca: join(d, 'ca.pem'), clientAuth: true },
  });
  assert.equal(serveTls({}, config)!.clientAuth, true);
  assert.equal(serveTls({ 'tls-client-auth': false }, config)!.clientAuth, false);
  assert.equal(serveTls({ 'tls-ca': join(d, 'server.pem') }, config)!.ca, join(d, 'server.pem'));
});

test('half a configuration and unreadable files are errors that say what is missing', async () => {
  assert.throws(() => serveTls({ 'tls-cert': '/x.pem' }), /both a certificate and its key/);
  assert.throws(() => serveTls({ 'tls-client-auth': true }), TlsSettingsError);
  assert.throws(
    () => serveTls({ 'tls-cert': '/nonexistent.pem', 'tls-key': '/k.pem' }),
    /cannot read the TLS certificate \/nonexistent\.pem/,
  );
  const d = await certsDir();
  assert.throws(
    () =>
      serveTls({ 'tls-cert': join(d, 'server.pem'), 'tls-key': join(d, 'server-key.pem'), 'tls-client-auth': true }),
    /needs the CA/,
  );
});

test('off loopback without TLS is refused, naming vigil certs; loopback and TLS pass', async () => {
  assert.doesNotThrow(() =>
    checkListen(
      [
        { what: 'NATS', addr: '127.0.0.1' },
        { what: 'the API', addr: '::1' },
      ],
      null,
    ),
  );
  assert.doesNotThrow(() => checkListen([{ what: 'NATS', addr: '127.0.0.2' }], null));
  assert.throws(
    () =>
      checkListen(
        [
          { what: 'NATS', addr: '0.0.0.0' },
          { what: 'the API', addr: '127.0.0.1' },
        ],
        null,
      ),
    /NATS on 0\.0\.0\.0 would be off loopback without TLS: create certificates with `vigil certs`/,
  );
  const tls = serveTls({ 'tls-dir': await certsDir() });
  assert.doesNotThrow(() => checkListen([{ what: 'NATS', addr: '10.0.0.5' }], tls));
});

test("nats-server's tls block requires client certificates only with clientAuth; local parts present the server's", async () => {
  const d = await certsDir();
  const tls = serveTls({ 'tls-dir': d, 'tls-client-auth': true })!;
  const block = natsTlsBlock(tls);
  assert.match(block, /cert_file: ".*server\.pem"/);
  assert.match(block, /ca_file: ".*ca\.pem"/);
  assert.match(block, /verify: true/);
  assert.match(natsTlsBlock({ ...tls, clientAuth: false }), /verify: false/);
  assert.deepEqual(localNatsTls(tls), { caFile: tls.ca, certFile: tls.cert, keyFile: tls.key });
  assert.deepEqual(localNatsTls({ ...tls, clientAuth: false }), { caFile: tls.ca });
});
