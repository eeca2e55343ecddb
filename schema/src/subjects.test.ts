import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostId, hostIdFrom, hostIdProblem, hostOfEventSubject, eventSubject } from './index.js';

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
