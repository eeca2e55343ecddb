import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { responseSigningBytes, type ResponseOrderV1 } from '@vigil/schema';
import { OrderChecker } from './order-check.js';

const NOW = 1_800_000_000_000_000_000n;
const pair = generateKeyPairSync('ed25519');
const other = generateKeyPairSync('ed25519');

function order(over: Partial<ResponseOrderV1> = {}, key = pair.privateKey): Buffer {
  const o: Omit<ResponseOrderV1, 'signature'> = {
    id: 'o-1',
    v: 1,
    host: 'gpu-1',
    action: 'kill',
    pid: 4242,
    startTs: '1799999999000000000',
    requestedBy: 'policy:miners',
    reason: 'miner.exec',
    incidentId: null,
    alertId: null,
    dryRun: false,
    issuedTs: (NOW - 1_000_000n).toString(),
    expiresTs: (NOW + 10_000_000_000n).toString(),
    ...over,
  };
  const signature = sign(null, responseSigningBytes(o), key).toString('base64');
  return Buffer.from(
    JSON.stringify({ ...o, signature, ...('signature' in over ? { signature: over.signature } : {}) }),
  );
}

const checker = () => new OrderChecker('gpu-1', pair.publicKey, () => NOW);

test('an order signed by the control plane, for this host, alive and new, passes once', () => {
  const c = checker();
  const first = c.check(order());
  assert.equal(first.ok, true);
  const again = c.check(order());
  assert.deepEqual(again.ok ? null : [again.orderId, again.check], ['o-1', 'replay']);
});

test('an order signed with another key is refused, and its id is not remembered', () => {
  const c = checker();
  const forged = c.check(order({}, other.privateKey));
  assert.deepEqual(forged.ok ? null : [forged.orderId, forged.check], ['o-1', 'signature']);
  assert.equal(c.check(order()).ok, true, 'the genuine order with that id still passes');
});

test('a field changed after signing breaks the signature', () => {
  const text = JSON.parse(order().toString()) as ResponseOrderV1;
  const changed = Buffer.from(JSON.stringify({ ...text, pid: 1 }));
  const r = checker().check(changed);
  assert.equal(r.ok ? null : r.check, 'signature');
});

test('orders for another host, expired, or that do not parse are refused with the check named', () => {
  const c = checker();
  const check = (data: Buffer) => {
    const r = c.check(data);
    return r.ok ? 'ok' : `${r.orderId}:${r.check}`;
  };
  assert.equal(check(order({ id: 'o-2', host: 'gpu-2' })), 'o-2:host');
  assert.equal(check(order({ id: 'o-3', expiresTs: NOW.toString() })), 'o-3:expired');
  assert.equal(check(order({ id: 'o-4', pid: -5 })), 'o-4:schema');
  assert.equal(check(order({ id: 'o-5', signature: 'AAAA' })), 'o-5:signature');
  assert.equal(check(Buffer.from('{"id":')), 'null:json');
  assert.equal(check(Buffer.from('null')), 'null:schema');
});
