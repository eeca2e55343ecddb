import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostId, hostIdFrom, hostIdProblem, hostOfEventSubject, eventSubject, partitionOfHost } from './index.js';

test('a host id is one subject token: the rule names what it breaks', () => {
  for (const ok of ['gpu-node-01', 'a', 'node_7', 'A'.repeat(253)]) assert.equal(hostIdProblem(ok), null, ok);
  for (const bad of [
    'bad.host/name',
    'a.b',
    '',
    '-lead',
    '_lead',
    'sp ace',
    'star*',
    'gt>',
    'A'.repeat(254),
    'tab\t',
  ]) {
    const why = hostIdProblem(bad);
    assert.ok(why, bad);
    assert.match(why!, /not a valid host id: letters, digits, "_" and "-"/);
  }
});

test('every valid host id makes an events subject the control plane reads back to it', () => {
  for (const host of ['gpu-node-01', 'n_1', 'X']) assert.equal(hostOfEventSubject(eventSubject(host, 'exec')), host);
});

test('a hostname becomes a valid host id', () => {
  for (const name of ['gpu01.cluster.example.com', '.hidden', '---', '', 'ünïcode', 'x'.repeat(300)]) {
    const id = hostIdFrom(name);
    assert.ok(HostId.safeParse(id).success, `${JSON.stringify(name)} -> ${JSON.stringify(id)}`);
  }
  assert.equal(hostIdFrom('gpu01.cluster'), 'gpu01_cluster');
});

test("a host's partition is nats-server's partition(4, 1) of its token (read off nats-server 2.9.10)", () => {
  const seen = { hostA: 2, hostB: 3, hostC: 0, 'h-1': 1, 'h-2': 0, 'h-3': 3 };
  for (const [host, p] of Object.entries(seen)) assert.equal(partitionOfHost(host, 4), p, host);
});

test('the host is read back from a partitioned events subject, and only from a well-formed one', () => {
  assert.equal(hostOfEventSubject('vigil.events.gpu-7.12.exec'), 'gpu-7');
  for (const bad of ['vigil.events.gpu-7.x.exec', 'vigil.events.gpu-7.012.exec', 'vigil.events.h.1.exec.more'])
    assert.equal(hostOfEventSubject(bad), null, bad);
});
