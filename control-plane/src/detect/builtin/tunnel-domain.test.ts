import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EventV1 } from '@vigil/schema';
import { builtinEngine, connect, dns } from '../testing.js';

function alerts(...events: EventV1[]) {
  const { engine, alerts } = builtinEngine();
  engine.process(events);
  return alerts.map((a) => ({ rule: a.ruleId, severity: a.severity, reason: a.reason }));
}

test('a DNS query for a tunnel service, or a connect to the address it resolved to, is high', () => {
  const q = alerts(dns('region1.v2.argotunnel.com', [], { exe: '/tmp/x', comm: 'x' }));
  assert.deepEqual(
    q.map((a) => [a.rule, a.severity]),
    [['tunnel.domain', 'high']],
  );
  assert.match(q[0]!.reason, /\/tmp\/x asked DNS for region1\.v2\.argotunnel\.com \(tunnel service argotunnel\.com\)/);
  const c = connect('3.1.2.3', 443, { exe: '/usr/bin/python3', comm: 'python3' });
  if (c.kind === 'connect') c.connect.hostname = 'abc.ngrok-free.app';
  const got = alerts(c);
  assert.deepEqual(
    got.map((a) => [a.rule, a.severity]),
    [['tunnel.domain', 'high']],
  );
  assert.match(got[0]!.reason, /connected to 3\.1\.2\.3:443, which DNS gave for abc\.ngrok-free\.app/);
});

test('other names raise nothing', () => {
  const c = connect('3.1.2.3', 443);
  if (c.kind === 'connect') c.connect.hostname = 'huggingface.co';
  assert.deepEqual(alerts(dns('huggingface.co'), dns('notngrok.io.example.com'), c), []);
});
