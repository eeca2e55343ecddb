/**
 * The DNS wire parser on hostile messages: names that try to pass for other names, loops, lengths past
 * the end. Each gives a named reason and keeps what it read, never a throw or a forged field.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDnsMessage } from './dns-wire.js';
import { unescapeBuf } from './dns.js';

const header = (qd = 1, an = 0, flags = 0x0100) =>
  Buffer.from([0x12, 0x34, flags >> 8, flags & 0xff, 0, qd, 0, an, 0, 0, 0, 0]);
const name = (...labels: (string | Buffer)[]) =>
  Buffer.concat([
    ...labels.map((l) => {
      const b = Buffer.from(l as string);
      return Buffer.concat([Buffer.from([b.length]), b]);
    }),
    Buffer.from([0]),
  ]);
const q = (n: Buffer, type = 1) => Buffer.concat([n, Buffer.from([type >> 8, type & 0xff, 0, 1])]);

test('a plain query: qname and qtype', () => {
  const m = parseDnsMessage(Buffer.concat([header(), q(name('db', 'vigil', 'test'), 28)]));
  assert.deepEqual([m.id, m.response, m.qname, m.qtype, m.malformed], [0x1234, false, 'db.vigil.test', 28, null]);
});

test('a dot or a NUL inside a label is escaped: the name never reads as another', () => {
  const m = parseDnsMessage(Buffer.concat([header(), q(name('a.b', Buffer.from('c\0d'), 'evil'))]));
  assert.equal(m.qname, 'a\\046b.c\\000d.evil');
  assert.equal(m.malformed, null);
  const spaced = parseDnsMessage(Buffer.concat([header(), q(name('x y\\', Buffer.from([0xff])))]));
  assert.equal(spaced.qname, 'x\\032y\\092.\\255');
});

test('a label length over 63 (the pointer bits set half-way), a truncated label, a truncated header', () => {
  const long = Buffer.concat([header(), Buffer.from([64]), Buffer.alloc(64, 0x61), Buffer.from([0, 0, 1, 0, 1])]);
  assert.equal(parseDnsMessage(long).malformed, 'bad label type');
  assert.equal(parseDnsMessage(long).qname, null);
  const cut = Buffer.concat([header(), Buffer.from([10]), Buffer.from('abc')]);
  assert.equal(parseDnsMessage(cut).malformed, 'truncated label');
  assert.equal(parseDnsMessage(Buffer.from([1, 2, 3])).malformed, 'shorter than a header');
});

test('a name over 255 bytes is refused, not cut into a shorter name', () => {
  const labels = Array.from({ length: 5 }, () => 'a'.repeat(63));
  const m = parseDnsMessage(Buffer.concat([header(), q(name(...labels))]));
  assert.equal(m.malformed, 'name over 255 bytes');
  assert.equal(m.qname, null);
});

test('compression pointers: a loop and a forward pointer are refused; a backward one is followed', () => {
  const self = Buffer.concat([header(), Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
  assert.equal(parseDnsMessage(self).malformed, 'compression loop');
  const forward = Buffer.concat([header(), Buffer.from([0xc0, 20, 0, 1, 0, 1]), name('x')]);
  assert.equal(parseDnsMessage(forward).malformed, 'compression loop');
  // An answer whose owner points at the question, and whose A record names an address.
  const answer = Buffer.concat([
    header(1, 1, 0x8180),
    q(name('db', 'vigil', 'test')),
    Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 127, 0, 0, 7]),
  ]);
  const m = parseDnsMessage(answer);
  assert.equal(m.malformed, null);
  assert.equal(m.response, true);
  assert.deepEqual(m.answers, [{ name: 'db.vigil.test', type: 'A', ttl: 300, addr: '127.0.0.7' }]);
});

test('an answer cut inside a record keeps the records before it and says so', () => {
  const full = Buffer.concat([
    header(1, 2, 0x8180),
    q(name('h'), 28),
    Buffer.from([0xc0, 12, 0, 28, 0, 1, 0, 0, 0, 60, 0, 16]),
    Buffer.from([0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 1]),
    Buffer.from([0xc0, 12, 0, 28, 0, 1, 0, 0, 0, 60, 0, 16]),
    Buffer.alloc(16),
  ]);
  const m = parseDnsMessage(full.subarray(0, full.length - 5));
  assert.deepEqual(
    m.answers.map((a) => a.addr),
    ['2001:db8::1'],
  );
  assert.equal(m.malformed, 'truncated record');
});

test('random bytes never throw', () => {
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let i = 0; i < 5000; i++) {
    const b = Buffer.from(Array.from({ length: Math.floor(rnd() * 200) }, () => Math.floor(rnd() * 256)));
    if (b.length >= 6) {
      b[4] = 0;
      b[5] = 1;
    }
    const m = parseDnsMessage(b);
    assert.ok(m.qname === null || m.qname.length <= 1100);
  }
});

test("bpftrace's buf() text: escapes are read back when the length says so, ambiguity is never guessed", () => {
  assert.deepEqual([...unescapeBuf('a\\x00\\xffb', 4)!], [0x61, 0, 0xff, 0x62]);
  // "\x41" is never an escape (a printable byte is printed as itself): four literal bytes.
  assert.deepEqual(Buffer.from(unescapeBuf('\\x41', 4)!).toString(), '\\x41');
  // One escape-looking sequence, four bytes captured: it was literal text.
  assert.deepEqual(Buffer.from(unescapeBuf('\\x00', 4)!).toString(), '\\x00');
  // A literal "\x00" among real escapes: 7 bytes could be either of two readings.
  assert.equal(unescapeBuf('\\x00\\x01\\x02', 6), null);
  assert.equal(unescapeBuf('abc', 5), null, 'a length that no reading gives');
});
