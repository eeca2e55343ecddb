import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ENROLL_STATE_FILE, EnrollStore } from './store.js';

const dir = () => mkdtempSync(join(tmpdir(), 'enroll-store-'));
const KEY_1 = `U${'A'.repeat(55)}`;
const KEY_2 = `U${'B'.repeat(55)}`;

test('a token is spent use by use, refused once used up, and refused once expired', () => {
  let now = new Date('2026-01-01T00:00:00Z');
  const store = new EnrollStore(dir(), () => now);
  const t = store.createToken({ expiresSeconds: 3600, uses: 2 });
  assert.equal(store.spendToken(t.token), null);
  assert.equal(store.spendToken(t.token), null);
  assert.equal(store.spendToken(t.token), 'used up');
  const u = store.createToken({ expiresSeconds: 60, uses: 5 });
  now = new Date(now.getTime() + 61_000);
  assert.equal(store.spendToken(u.token), 'expired');
  assert.equal(store.spendToken(`${u.token}x`), 'unknown');
});

test('only the hash of a token is kept, in a file only its owner reads', () => {
  const d = dir();
  const t = new EnrollStore(d).createToken({ expiresSeconds: 3600, uses: 1 });
  const text = readFileSync(join(d, ENROLL_STATE_FILE), 'utf8');
  assert.ok(!text.includes(t.token));
  assert.equal(statSync(join(d, ENROLL_STATE_FILE)).mode & 0o777, 0o600);
  // A second store on the same file (a restart) spends it.
  assert.equal(new EnrollStore(d).spendToken(t.token), null);
});

test('a host id keeps its key until revoked; the revocation outlives a re-enrollment and a restart', () => {
  const d = dir();
  const now = new Date('2026-01-01T00:00:00Z');
  const store = new EnrollStore(d, () => now);
  store.issued('gpu-1', KEY_1, '0.1.0', '2026-01-31T00:00:00.000Z');
  assert.equal(store.conflict('gpu-1', KEY_1), false, 'the same key renews');
  assert.equal(store.conflict('gpu-1', KEY_2), true);
  assert.equal(store.revoke('gpu-1')?.state, 'revoked');
  assert.equal(store.revoke('gpu-1'), null, 'nothing active left to revoke');
  assert.equal(store.conflict('gpu-1', KEY_2), false);
  store.issued('gpu-1', KEY_2, '0.1.0', '2026-01-31T00:00:00.000Z');
  assert.deepEqual(EnrollStore.revocationsIn(d), { [KEY_1]: Math.floor(now.getTime() / 1000) });
  assert.deepEqual(
    new EnrollStore(d).hosts().map((h) => [h.host, h.state, h.publicKey]),
    [['gpu-1', 'active', KEY_2]],
  );
});
