/**
 * The names answers give addresses: a connect carries one only from its own process's answer, and only
 * while the answer's TTL (at least 30 s) lasts; answers that do not parse are counted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DnsNames } from './dns-names.js';
import { Counters } from '../counters.js';

const S = 1e9;
/** An answer for db.vigil.test: A 10.1.2.3 with `ttl`. */
function answerBytes(ttl: number): Uint8Array {
  const q = Buffer.from([2, 0x64, 0x62, 5, ...Buffer.from('vigil'), 4, ...Buffer.from('test'), 0, 0, 1, 0, 1]);
  const rr = Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, ttl >> 8, ttl & 0xff, 0, 4, 10, 1, 2, 3]);
  return Buffer.concat([Buffer.from([0xab, 0xcd, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]), q, rr]);
}
const answer = (pid: number, ns: number, ttl: number) => {
  const bytes = answerBytes(ttl);
  return { type: 'dns.message' as const, direction: 'answer' as const, ns, pid, fd: 3, len: bytes.length, bytes };
};

test("a connect is named by its own process's answer, for the TTL, never by another process's", () => {
  const counters = new Counters();
  const names = new DnsNames(counters);
  const d = names.onRecord(answer(100, 10 * S, 300));
  assert.deepEqual(d?.answers, [{ name: 'db.vigil.test', type: 'A', ttl: 300, addr: '10.1.2.3' }]);
  assert.equal(names.hostname(100, '10.1.2.3', 20 * S), 'db.vigil.test');
  assert.equal(
    names.hostname(100, '::ffff:10.1.2.3', 20 * S),
    'db.vigil.test',
    'a v4-mapped destination is the same address',
  );
  assert.equal(names.hostname(101, '10.1.2.3', 20 * S), undefined, 'another process: no name');
  assert.equal(names.hostname(100, '10.1.2.3', 311 * S), undefined, 'past the TTL');
  names.onRecord(answer(100, 10 * S, 0));
  assert.equal(
    names.hostname(100, '10.1.2.3', 39 * S),
    'db.vigil.test',
    'TTL 0 still names a connect that follows at once',
  );
  assert.equal(counters.rejects.size, 0);
});

test('an unreadable or odd message is an event that says why, and is counted', () => {
  const counters = new Counters();
  const names = new DnsNames(counters);
  const amb = names.onRecord({ type: 'dns.message', direction: 'query', ns: 1, pid: 1, fd: 3, len: 40, bytes: null });
  assert.equal(amb?.malformed, 'ambiguous capture');
  assert.equal(amb?.qname, null);
  const loop = Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
  const bad = names.onRecord({
    type: 'dns.message',
    direction: 'query',
    ns: 2,
    pid: 1,
    fd: 3,
    len: loop.length,
    bytes: loop,
  });
  assert.equal(bad?.malformed, 'compression loop');
  names.onRecord({ type: 'dns.skipped', ns: 3, skipped: 7 });
  assert.deepEqual(counters.rejectsObject(), { 'dns.ambiguous-capture': 1, 'dns.malformed': 1, 'dns.rate-limited': 7 });
});
