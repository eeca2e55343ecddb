import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EventV1, type AncestorV1 } from '@vigil/schema';
import { encodeEvent } from './encode.js';

const text = fc.string({ unit: 'binary', maxLength: 40 });
const ancestor = fc.record({
  pid: fc.integer({ min: 1, max: 4_194_304 }),
  comm: text,
  exe: text,
  argv: fc.array(text, { maxLength: 5 }),
});

function execEvent(argv: string[], ancestry: AncestorV1[], extra: { cwd?: string } = {}): EventV1 {
  return {
    id: 'e1',
    v: 1,
    host: 'h',
    ts: '1795382210804879886',
    kind: 'exec',
    proc: {
      pid: 7,
      ppid: ancestry[0]?.pid ?? 0,
      uid: 0,
      gid: 0,
      comm: 'c',
      exe: '/e',
      argv,
      argvTruncated: false,
      ...extra,
      cgroupId: 1,
      cgroup: '/',
      containerId: null,
      job: null,
      startTs: null,
      ancestry,
      ancestryTruncated: false,
    },
    exec: { filename: '/e', argv, argvTruncated: false, ret: 0 },
  };
}

test('an encoded event parses back to the value JSON.stringify gives, for any text in it', () => {
  fc.assert(
    fc.property(
      fc.array(text, { maxLength: 6 }),
      fc.array(ancestor, { maxLength: 16 }),
      fc.option(text, { nil: undefined }),
      (argv, ancestry, cwd) => {
        const ev = execEvent(argv, ancestry, cwd === undefined ? {} : { cwd });
        const json = encodeEvent(ev);
        assert.deepEqual(JSON.parse(json), JSON.parse(JSON.stringify(ev)));
        assert.ok(EventV1.safeParse(JSON.parse(json)).success);
      },
    ),
    { numRuns: 2000 },
  );
});

test('ancestors shared between events are encoded once and stay right for each event', () => {
  const parent: AncestorV1 = {
    pid: 10,
    comm: 'bash',
    exe: '/usr/bin/bash',
    argv: ['bash', '-c', 'while :; do /bin/true; done'],
  };
  const init: AncestorV1 = { pid: 1, comm: 'systemd', exe: '/usr/lib/systemd/systemd', argv: ['/sbin/init'] };
  const a = execEvent(['/bin/true'], [parent, init]);
  const b = execEvent(['/bin/true', 'x"\n'], [parent, init]);
  for (const ev of [a, b, a]) assert.deepEqual(JSON.parse(encodeEvent(ev)), JSON.parse(JSON.stringify(ev)));
  // Events without ancestry (a stub process) and with every field empty encode too.
  const orphan = execEvent([], []);
  assert.deepEqual(JSON.parse(encodeEvent(orphan)), JSON.parse(JSON.stringify(orphan)));
});
