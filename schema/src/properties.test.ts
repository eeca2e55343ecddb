import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EventV1, HostId, hostIdFrom } from './index.js';

test('the event schema never throws on any JSON value, and what it accepts round-trips through JSON', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      const r = EventV1.safeParse(v);
      if (r.success) assert.deepEqual(EventV1.parse(JSON.parse(JSON.stringify(r.data))), r.data);
    }),
    { numRuns: 3000 },
  );
});

test('exec events with arbitrary argv text validate and survive JSON exactly', () => {
  fc.assert(
    fc.property(fc.array(fc.string({ unit: 'binary' }), { maxLength: 8 }), (argv) => {
      const ev = {
        id: 'x',
        v: 1,
        host: 'h',
        ts: '1',
        kind: 'exec',
        proc: {
          pid: 1,
          ppid: 0,
          uid: 0,
          gid: 0,
          comm: 'c',
          exe: '/e',
          argv,
          argvTruncated: false,
          cgroupId: 0,
          cgroup: '/',
          containerId: null,
          job: null,
          startTs: null,
          ancestry: [],
          ancestryTruncated: false,
        },
        exec: { filename: '/e', argv, argvTruncated: false, ret: 0 },
      };
      const parsed = EventV1.parse(JSON.parse(JSON.stringify(ev)));
      assert.equal(parsed.kind === 'exec' && parsed.exec.argv.length, argv.length);
    }),
    { numRuns: 1000 },
  );
});

test('any hostname becomes a valid host id (one NATS subject token)', () => {
  fc.assert(
    fc.property(fc.string(), (name) => {
      const id = hostIdFrom(name);
      assert.ok(HostId.safeParse(id).success, id);
      assert.ok(!/[.*> ]/.test(id));
    }),
  );
});
