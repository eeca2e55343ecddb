import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CA_DAYS, DEFAULT_CERT_DAYS } from '@vigil/schema';
import { CertsError, TLS_FILES, clientIssuer, createCerts } from './certs.js';

const dir = () => {
  const d = mkdtempSync(join(tmpdir(), 'vigil-certs-'));
  process.on('exit', () => rmSync(d, { recursive: true, force: true }));
  return join(d, 'tls');
};
const cert = (d: string, f: string) => new X509Certificate(readFileSync(join(d, f)));
const mode = (d: string, f: string) => statSync(join(d, f)).mode & 0o777;
const DAY = 86_400_000;

test('the server certificate verifies against the CA, names the hosts and IPs given with loopback, and lasts --days', async () => {
  const d = dir();
  const now = new Date('2026-01-01T00:00:00Z');
  await createCerts({ dir: d, hosts: ['vigil.example'], ips: ['10.0.0.5'], clients: [], force: false, days: 30, now });
  const ca = cert(d, TLS_FILES.ca);
  const server = cert(d, TLS_FILES.cert);
  assert.equal(ca.ca, true);
  assert.ok(ca.verify(ca.publicKey), 'the CA is self-signed');
  assert.ok(server.checkIssued(ca), 'the CA issued the server certificate');
  assert.ok(server.verify(ca.publicKey), "the CA's key signed it");
  assert.equal(server.ca, false);
  assert.equal(server.checkHost('vigil.example'), 'vigil.example');
  assert.equal(server.checkHost('other.example'), undefined);
  assert.equal(server.checkIP('10.0.0.5'), '10.0.0.5');
  assert.equal(server.checkIP('127.0.0.1'), '127.0.0.1');
  assert.equal(server.checkIP('::1'), '::1');
  assert.equal(server.checkIP('10.0.0.6'), undefined);
  assert.deepEqual(server.keyUsage?.sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
  assert.equal(new Date(server.validTo).getTime() - now.getTime(), 30 * DAY);
  assert.equal(new Date(ca.validTo).getTime() - now.getTime(), DEFAULT_CA_DAYS * DAY);
  // The key is the certificate's.
  const key = createPrivateKey(readFileSync(join(d, TLS_FILES.key)));
  assert.ok(server.checkPrivateKey(key));
  assert.equal(mode(d, TLS_FILES.key), 0o600);
  assert.equal(mode(d, TLS_FILES.caKey), 0o600);
  assert.equal(mode(d, TLS_FILES.cert), 0o644);
});

test("without --host the server certificate names this machine's hostname and localhost", async () => {
  const d = dir();
  await createCerts({ dir: d, hosts: [], ips: [], clients: [], force: false });
  const server = cert(d, TLS_FILES.cert);
  assert.equal(server.checkHost(hostname()), hostname());
  assert.equal(server.checkHost('localhost'), 'localhost');
  assert.equal(server.checkIP('127.0.0.1'), '127.0.0.1');
  const lasts = new Date(server.validTo).getTime() - new Date(server.validFrom).getTime();
  assert.equal(lasts, DEFAULT_CERT_DAYS * DAY);
});

test('a client certificate is for client auth only, named as asked, signed by the CA already there', async () => {
  const d = dir();
  await createCerts({ dir: d, hosts: [], ips: [], clients: [], force: false });
  const caBefore = readFileSync(join(d, TLS_FILES.ca), 'utf8');
  const r = await createCerts({ dir: d, hosts: [], ips: [], clients: ['ops'], force: false });
  assert.equal(r.reusedCa, true);
  assert.equal(readFileSync(join(d, TLS_FILES.ca), 'utf8'), caBefore, 'the CA is kept');
  const client = cert(d, TLS_FILES.clientCert('ops'));
  assert.ok(client.checkIssued(cert(d, TLS_FILES.ca)));
  assert.ok(client.verify(cert(d, TLS_FILES.ca).publicKey));
  assert.match(client.subject, /CN=ops/);
  assert.deepEqual(client.keyUsage, ['1.3.6.1.5.5.7.3.2']);
  assert.equal(mode(d, TLS_FILES.clientKey('ops')), 0o600);
});

test('nothing is overwritten without --force; with it, a new CA replaces the old', async () => {
  const d = dir();
  await createCerts({ dir: d, hosts: [], ips: [], clients: ['ops'], force: false });
  const before = readFileSync(join(d, TLS_FILES.ca), 'utf8');
  await assert.rejects(createCerts({ dir: d, hosts: [], ips: [], clients: [], force: false }), (err: Error) => {
    assert.ok(err instanceof CertsError);
    assert.match(err.message, /already holds ca\.pem.*--force/);
    return true;
  });
  await assert.rejects(createCerts({ dir: d, hosts: [], ips: [], clients: ['ops'], force: false }), /client-ops\.pem/);
  assert.equal(readFileSync(join(d, TLS_FILES.ca), 'utf8'), before);
  await createCerts({ dir: d, hosts: [], ips: [], clients: [], force: true });
  assert.notEqual(readFileSync(join(d, TLS_FILES.ca), 'utf8'), before);
});

test('names that are not DNS names, IPs or client names are refused before anything is written', async () => {
  const d = dir();
  await assert.rejects(createCerts({ dir: d, hosts: ['a b'], ips: [], clients: [], force: false }), /not a DNS name/);
  await assert.rejects(createCerts({ dir: d, hosts: [], ips: ['10.0.0'], clients: [], force: false }), /not an IP/);
  await assert.rejects(createCerts({ dir: d, hosts: [], ips: [], clients: ['../x'], force: false }), /--client/);
});

test('deploy issues each host a client certificate of its own, signed by the CA there, and refuses what cannot name one', async () => {
  const d = dir();
  await assert.rejects(
    clientIssuer(d),
    (err: Error) => err instanceof CertsError && /cannot load the CA/.test(err.message),
  );
  await createCerts({ dir: d, hosts: [], ips: [], clients: [], force: false });
  const issue = await clientIssuer(d);
  const [a, b] = await Promise.all([issue('gpu-node-1'), issue('gpu-node-2')]);
  const ca = cert(d, TLS_FILES.ca);
  for (const [got, name] of [
    [a, 'gpu-node-1'],
    [b, 'gpu-node-2'],
  ] as const) {
    const c = new X509Certificate(got.certPem);
    assert.ok(c.checkIssued(ca) && c.verify(ca.publicKey), `${name}'s certificate is the CA's`);
    assert.match(c.subject, new RegExp(`CN=${name}`));
    assert.deepEqual(c.keyUsage, ['1.3.6.1.5.5.7.3.2'], 'client auth only');
    assert.ok(c.publicKey.equals(createPublicKey(createPrivateKey(got.keyPem))), 'the key is its own');
  }
  assert.notEqual(a.keyPem, b.keyPem);
  await assert.rejects(issue('a b'), CertsError);
});
