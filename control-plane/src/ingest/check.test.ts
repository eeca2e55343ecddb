/**
 * The events stream's messages are attacker-controlled bytes: the check refuses what it cannot take,
 * with a reason, and never throws; a batch's bad event is parked as the bytes it was sent as.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { eventSubject, MAX_JSON_DEPTH, partitionOfHost, type EventV1 } from '@vigil/schema';
import { checkMessage } from './check.js';
import { scanJson } from './json-scan.js';

const HOST = 'h1';
const SUBJECT = eventSubject(HOST, 'exec');
const enc = new TextEncoder();
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const exec = (argv: string[] = ['ls']): EventV1 => ({
  id: randomUUID(),
  v: 1,
  host: HOST,
  ts: '1700000000000000000',
  kind: 'exec',
  proc: {
    pid: 10,
    ppid: 1,
    uid: 0,
    gid: 0,
    comm: 'ls',
    exe: '/bin/ls',
    argv,
    argvTruncated: false,
    cgroupId: 1,
    cgroup: '/',
    containerId: null,
    job: null,
    startTs: null,
    ancestry: [],
    ancestryTruncated: false,
  },
  exec: { filename: '/bin/ls', argv, argvTruncated: false, ret: 0 },
});
const batch = (events: unknown[]) => enc.encode(JSON.stringify({ v: 1, host: HOST, kind: 'exec', events }));
const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

test('a batch element nested 200,000 deep (400 KB) is refused whole as too-deep, before any parse', () => {
  const data = enc.encode(
    `{"v":1,"host":"${HOST}","kind":"exec","events":[${JSON.stringify(exec())},${nested(200_000)}]}`,
  );
  const c = checkMessage(SUBJECT, data);
  assert.equal(c.good, false);
  assert.deepEqual(
    c.bad.map((b) => b.reason),
    ['too-deep'],
  );
  assert.equal(c.bad[0]!.data, data, 'the raw bytes, as sent');
});

test('nesting up to the bound is taken; brackets inside strings are data, not depth', () => {
  assert.equal(scanJson(enc.encode(nested(MAX_JSON_DEPTH)), MAX_JSON_DEPTH).tooDeep, false);
  assert.equal(scanJson(enc.encode(nested(MAX_JSON_DEPTH + 1)), MAX_JSON_DEPTH).tooDeep, true);
  // A process may run with any argv: one of brackets and escaped quotes must not get its batch refused.
  const ev = exec(['x', '['.repeat(500), '\\"[[[', '{{{"}}}']);
  const c = checkMessage(SUBJECT, batch([ev]));
  assert.equal(c.good, true);
  assert.deepEqual(c.events, [ev]);
});

test('a bad event of a batch is parked as its own bytes, with its index; the rest is kept', () => {
  const good = [exec(), exec()];
  const broken = { ...exec(), exec: { argv: 'not-an-array' } };
  const forged = { ...exec(), host: 'other' };
  // Spaces and a key that sorts before `events`, holding an array too: the elements are events' own.
  const data = enc.encode(
    `{ "decoy" : [1, [2]], "v":1, "host":"${HOST}", "kind":"exec", "events" : [ ${JSON.stringify(good[0])} ,\n${JSON.stringify(broken)}, ${JSON.stringify(forged)} , ${JSON.stringify(good[1])} ] }`,
  );
  const c = checkMessage(SUBJECT, data);
  assert.equal(c.good, true);
  assert.deepEqual(
    c.events.map((e) => e.id),
    good.map((e) => e.id),
  );
  assert.deepEqual(
    c.bad.map((b) => [b.reason, b.index]),
    [
      ['schema', 1],
      ['host-mismatch', 2],
    ],
  );
  assert.equal(text(c.bad[0]!.data), JSON.stringify(broken));
  assert.equal(text(c.bad[1]!.data), JSON.stringify(forged));
});

test('whole messages refused with their reason, as sent', () => {
  const cases: [string, string, string?][] = [
    ['{"not": json', 'not-json'],
    [JSON.stringify({ ...exec(), v: 2 }), 'wrong-version'],
    ['null', 'schema'],
    ['[]', 'schema'],
    [JSON.stringify({ v: 1, host: HOST, kind: 'exec', events: [] }), 'schema'],
    [JSON.stringify(exec()), 'host-mismatch', eventSubject('other', 'exec')],
    [
      JSON.stringify({ ...exec(), exec: { filename: 'x', argv: ['x'.repeat(300_000)], argvTruncated: false, ret: 0 } }),
      'oversized',
    ],
  ];
  for (const [body, reason, subject] of cases) {
    const data = enc.encode(body);
    const c = checkMessage(subject ?? SUBJECT, data);
    assert.deepEqual(
      c.bad.map((b) => b.reason),
      [reason],
      body.slice(0, 60),
    );
    assert.equal(c.bad[0]!.data, data);
  }
  assert.equal(checkMessage(SUBJECT, new Uint8Array([0xff, 0xfe, 0x7b])).bad[0]!.reason, 'not-json', 'not UTF-8');
});

test('any bytes are checked without throwing; every refusal carries a reason and bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (data) => {
      const c = checkMessage(SUBJECT, data);
      assert.ok(c.good || c.bad.length === 1);
      for (const b of c.bad) assert.ok(b.reason && b.data instanceof Uint8Array);
    }),
    { numRuns: 3000 },
  );
});

test('any JSON, deep or not, as a message or as batch elements: never throws; bad elements are parked as their own bytes', () => {
  const { tree } = fc.letrec((tie) => ({
    tree: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.jsonValue({ maxDepth: 2 }),
      fc.array(tie('tree'), { maxLength: 3 }),
      fc.dictionary(fc.string({ maxLength: 4 }), tie('tree'), { maxKeys: 3 }),
    ),
  }));
  const deep = fc.integer({ min: 1, max: 3 * MAX_JSON_DEPTH }).map((d) => JSON.parse(nested(d)) as unknown);
  const element = fc.oneof(
    tree,
    deep,
    fc.constant(exec()),
    fc.string({ maxLength: 20 }).map((s) => exec([s, '[', '"'])),
  );
  fc.assert(
    fc.property(fc.array(element, { minLength: 1, maxLength: 6 }), fc.boolean(), (elements, spaced) => {
      const data = enc.encode(
        JSON.stringify({ v: 1, host: HOST, kind: 'exec', events: elements }, null, spaced ? 1 : undefined),
      );
      const c = checkMessage(SUBJECT, data);
      if (!c.good) {
        assert.equal(c.bad.length, 1);
        assert.equal(c.bad[0]!.data, data);
        return;
      }
      assert.equal(c.events.length + c.bad.length, elements.length);
      // Compared as JSON: generated objects may lack a prototype, parsed ones never do.
      for (const b of c.bad)
        assert.equal(
          JSON.stringify(JSON.parse(text(b.data))),
          JSON.stringify(elements[b.index!]),
          "the element's own bytes",
        );
      const whole = checkMessage(SUBJECT, enc.encode(JSON.stringify(elements[0])));
      assert.ok(whole.good || whole.bad.length === 1);
    }),
    { numRuns: 1500 },
  );
});

test("a replica refuses a message whose partition token is not its host's; it takes the host's own", () => {
  const data = enc.encode(JSON.stringify(exec()));
  const own = partitionOfHost(HOST, 16);
  const other = (own + 1) % 16;
  const forged = checkMessage(`vigil.events.${HOST}.${other}.exec`, data, 16);
  assert.equal(forged.good, false);
  assert.equal(forged.bad[0]!.reason, 'partition-mismatch');
  assert.equal(checkMessage(`vigil.events.${HOST}.${own}.exec`, data, 16).good, true);
  // A single control plane reads every partition: the token is the host's own business there.
  assert.equal(checkMessage(`vigil.events.${HOST}.${other}.exec`, data).good, true);
});
