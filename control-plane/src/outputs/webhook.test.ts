import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSecret, signature, WebhookSecretError } from './webhook.js';

test('the signature is the hex HMAC-SHA256 of the body under the key', () => {
  const body = '{"kind":"alert","data":{}}';
  const key = Buffer.from('k3y');
  assert.equal(signature(key, body), `sha256=${createHmac('sha256', 'k3y').update(body).digest('hex')}`);
});

test('the secret file: its bytes without the trailing newline; missing or empty refused by name', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-webhook-'));
  writeFileSync(join(dir, 'k'), 'abc\n');
  assert.equal(readSecret(join(dir, 'k')).toString(), 'abc');
  writeFileSync(join(dir, 'empty'), '\n');
  assert.throws(() => readSecret(join(dir, 'empty')), WebhookSecretError);
  assert.throws(() => readSecret(join(dir, 'missing')), /webhook secretFile .*missing/);
});
