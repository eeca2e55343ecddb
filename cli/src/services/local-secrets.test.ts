import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { isValidSecret, loadOrCreateSecret } from './local-secrets.js';

const log = pino({ level: 'silent' });
const dir = () => {
  const d = mkdtempSync(join(tmpdir(), 'vigil-secrets-'));
  process.on('exit', () => rmSync(d, { recursive: true, force: true }));
  return d;
};

test('a secret is created once (0600, 64 hex digits) and read back unchanged', () => {
  const path = join(dir(), 's');
  const first = loadOrCreateSecret(path, { gid: null, log, what: 'test' });
  assert.match(first, /^[0-9a-f]{64}$/);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(loadOrCreateSecret(path, { gid: null, log, what: 'test' }), first);
});

test('a secret others could read, a link, or one that is not a token is replaced', () => {
  const d = dir();
  const open = join(d, 'open');
  writeFileSync(open, 'readable-by-everyone-0123456789\n', { mode: 0o644 });
  assert.notEqual(loadOrCreateSecret(open, { gid: null, log, what: 'test' }), 'readable-by-everyone-0123456789');
  assert.equal(statSync(open).mode & 0o777, 0o600);
  const target = join(d, 'target');
  writeFileSync(target, 'linked-token-0123456789abcdef\n', { mode: 0o600 });
  const link = join(d, 'link');
  symlinkSync(target, link);
  assert.notEqual(loadOrCreateSecret(link, { gid: null, log, what: 'test' }), 'linked-token-0123456789abcdef');
  assert.equal(readFileSync(target, 'utf8'), 'linked-token-0123456789abcdef\n', "the link's target is left alone");
  const bad = join(d, 'bad');
  writeFileSync(bad, 'has "quotes" and spaces\n', { mode: 0o600 });
  assert.equal(isValidSecret(loadOrCreateSecret(bad, { gid: null, log, what: 'test' })), true);
});

test('a token the user wrote (base64, 0600) is kept as it is', () => {
  const path = join(dir(), 't');
  writeFileSync(path, 'dXNlci1jaG9zZW4tdG9rZW4rLz0=\n', { mode: 0o600 });
  assert.equal(loadOrCreateSecret(path, { gid: null, log, what: 'test' }), 'dXNlci1jaG9zZW4tdG9rZW4rLz0=');
});
