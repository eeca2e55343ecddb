import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventV1, hostOfEventSubject, eventSubject, hostIdFrom, HostId } from './index.js';

const proc = {
  pid: 42,
  ppid: 1,
  uid: 0,
  gid: 0,
  comm: 'sh',
  exe: '/bin/sh',
  argv: ['sh'],
  argvTruncated: false,
  cgroupId: 1,
  cgroup: '/',
  containerId: null,
  job: null,
  startTs: null,
  ancestry: [],
  ancestryTruncated: false,
};

test('an exec event parses and keeps its kind payload', () => {
  const ev = EventV1.parse({
    id: 'a',
    v: 1,
    host: 'h1',
    ts: '1700000000000000000',
    kind: 'exec',
    proc,
    exec: { filename: '/bin/sh', argv: ['sh', '-c', 'x'], argvTruncated: false, ret: 0 },
  });
  assert.equal(ev.kind, 'exec');
});

test('wrong version, unknown kind, a numeric ts and a bad host are rejected', () => {
  const base = { id: 'a', host: 'h1', ts: '1', proc, exit: { code: 0, signal: null } };
  assert.equal(EventV1.safeParse({ ...base, v: 1, kind: 'exit' }).success, true);
  assert.equal(EventV1.safeParse({ ...base, v: 2, kind: 'exit' }).success, false);
  assert.equal(EventV1.safeParse({ ...base, v: 1, kind: 'mystery' }).success, false);
  assert.equal(EventV1.safeParse({ ...base, v: 1, kind: 'exit', ts: 1 }).success, false);
  assert.equal(EventV1.safeParse({ ...base, v: 1, kind: 'exit', host: 'a.b>' }).success, false);
  assert.equal(EventV1.safeParse({ ...base, v: 1, kind: 'exit', host: 'a b' }).success, false);
  assert.equal(EventV1.safeParse({ ...base, v: 1, kind: 'exit', host: 'a.b' }).success, false);
});

test('the host is read back from an event subject', () => {
  assert.equal(hostOfEventSubject(eventSubject('gpu-node-7', 'exec')), 'gpu-node-7');
  assert.equal(hostOfEventSubject('vigil.events.h'), null);
  assert.equal(hostOfEventSubject('other.events.h.exec'), null);
});

test('a hostname becomes a valid host id', () => {
  for (const name of ['node7.cluster.local', '-weird name', '', 'ok_1']) {
    assert.equal(HostId.safeParse(hostIdFrom(name)).success, true, name);
  }
  assert.equal(hostIdFrom('node7.cluster.local'), 'node7_cluster_local');
});
