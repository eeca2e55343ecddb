import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode, type Account, type User } from '@nats-io/jwt';
import { createUser } from '@nats-io/nkeys';
import { AUTHORITY_KEYS_FILE, hostPermissions, NatsAuthority } from './authority.js';

const dir = () => mkdtempSync(join(tmpdir(), 'nats-authority-'));

test('the operator keys are made once, 0600, and the same keys are read again', () => {
  const d = dir();
  const first = new NatsAuthority(d);
  assert.equal(statSync(join(d, AUTHORITY_KEYS_FILE)).mode & 0o777, 0o600);
  const text = readFileSync(join(d, AUTHORITY_KEYS_FILE), 'utf8');
  assert.equal(new NatsAuthority(d).accountPublicKey, first.accountPublicKey);
  assert.equal(readFileSync(join(d, AUTHORITY_KEYS_FILE), 'utf8'), text);
});

test("a host's user JWT: its own subjects, its replies and response orders only, an expiry, signed by the signing key", async () => {
  const a = new NatsAuthority(dir());
  const user = createUser();
  const expires = new Date(Date.now() + 3600_000);
  const { jwt } = await a.userJwt('vigil-sensor-gpu-1', user.getPublicKey(), hostPermissions('gpu-1'), expires);
  const claims = decode<User>(jwt);
  assert.equal(claims.sub, user.getPublicKey());
  assert.equal(claims.exp, Math.floor(expires.getTime() / 1000));
  assert.equal(claims.nats.issuer_account, a.accountPublicKey);
  assert.notEqual(claims.iss, a.accountPublicKey, 'signed by the signing key, not the account key');
  assert.deepEqual(claims.nats.pub, { allow: ['vigil.events.gpu-1.>', 'vigil.sensor.gpu-1.>'] });
  assert.deepEqual(claims.nats.sub, { allow: ['_INBOX_sensor.gpu-1.>', 'vigil.control.gpu-1.response'] });
});

test('the account JWT names the signing key, enables JetStream and carries the revocations', async () => {
  const a = new NatsAuthority(dir());
  const claims = decode<Account>(await a.accountJwt({ [`U${'A'.repeat(55)}`]: 1_800_000_000 }));
  assert.equal(claims.sub, a.accountPublicKey);
  assert.equal(claims.nats.signing_keys?.length, 1);
  assert.equal(claims.nats.limits?.disk_storage, -1);
  assert.deepEqual(claims.nats.revocations, { [`U${'A'.repeat(55)}`]: 1_800_000_000 });
});
