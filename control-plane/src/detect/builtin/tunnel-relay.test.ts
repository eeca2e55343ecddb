import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EventV1 } from '@vigil/schema';
import { builtinEngine, conn, exeReference } from '../testing.js';

function alerts(...events: EventV1[]) {
  const { engine, alerts } = builtinEngine();
  engine.process(events);
  return alerts.map((a) => ({ rule: a.ruleId, severity: a.severity, reason: a.reason, evidence: a.evidence }));
}

const updater = { pid: 7100, exe: '/opt/app/bin/updater', comm: 'updater', argv: ['/opt/app/bin/updater'] };

test('a reverse tunnel by its sockets: a held connection out, then a connect to local ssh — critical whatever it is called', () => {
  const carrier = conn('established', 'out', '10.0.0.9:51000', '10.1.2.3:443', updater);
  const got = alerts(carrier, conn('established', 'out', '127.0.0.1:52000', '127.0.0.1:22', updater));
  assert.deepEqual(
    got.map((a) => [a.rule, a.severity]),
    [['tunnel.relay', 'critical']],
  );
  assert.match(
    got[0]!.reason,
    /\/opt\/app\/bin\/updater holds a connection to 10\.1\.2\.3:443 .* connected to the local service 127\.0\.0\.1:22 \(ssh\): a reverse tunnel/,
  );
  assert.ok(got[0]!.evidence.includes(carrier.id), 'the carrier is evidence');
  const jupyter = alerts(
    conn('established', 'out', '10.0.0.9:51000', '10.1.2.3:443', updater),
    conn('established', 'out', '127.0.0.1:52000', '127.0.0.1:8888', updater),
  );
  assert.deepEqual(
    jupyter.map((a) => [a.rule, a.severity]),
    [['tunnel.relay', 'medium']],
    'Jupyter reached by a process that is no tunnel tool',
  );
  const frpc = { pid: 7110, exe: '/usr/local/bin/frpc', comm: 'frpc', argv: ['frpc'] };
  const tool = alerts(
    conn('established', 'out', '10.0.0.9:51000', '10.1.2.3:7000', frpc),
    conn('established', 'out', '127.0.0.1:52000', '127.0.0.1:5432', frpc),
  );
  assert.deepEqual(
    tool.map((a) => [a.rule, a.severity]),
    [['tunnel.relay', 'high']],
    'any local port by a tunnel tool',
  );
});

test('a relay tool (renamed socat by hash) holding a carrier and accepting connections is high; a closed carrier is none', () => {
  const p = { pid: 7200, exe: '/tmp/.s', comm: '.s', argv: ['/tmp/.s'], exeHash: 'c'.repeat(64) };
  const got = alerts(
    exeReference('/usr/bin/socat', 'c'.repeat(64)),
    conn('listen', null, '0.0.0.0:2222', '0.0.0.0:0', p),
    conn('established', 'out', '10.0.0.9:51000', '10.1.2.3:22', p),
    conn('established', 'in', '10.0.0.9:2222', '10.0.0.50:40000', p),
  ).filter((a) => a.rule === 'tunnel.relay');
  assert.deepEqual(
    got.map((a) => a.severity),
    ['high'],
  );
  assert.match(
    got[0]!.reason,
    /a copy of the host's socat .* holds a connection to 10\.1\.2\.3:22 and accepted 10\.0\.0\.50:40000/,
  );
  assert.deepEqual(
    alerts(
      conn('established', 'out', '10.0.0.9:51000', '10.1.2.3:443', updater),
      conn('close', 'out', '10.0.0.9:51000', '10.1.2.3:443', updater, 1200),
      conn('established', 'out', '127.0.0.1:52000', '127.0.0.1:22', updater),
    ),
    [],
  );
});

test('a socat listener on every interface relaying to loopback is medium; bound to loopback it is nothing', () => {
  const p = { pid: 7300, exe: '/usr/bin/socat', comm: 'socat', argv: ['socat'] };
  const open = alerts(
    conn('listen', null, '0.0.0.0:6007', '0.0.0.0:0', p),
    conn('established', 'in', '127.0.0.1:6007', '127.0.0.1:40000', p),
    conn('established', 'out', '127.0.0.1:40001', '127.0.0.1:6006', p),
  );
  assert.deepEqual(
    open.map((a) => [a.rule, a.severity]),
    [['tunnel.relay', 'medium']],
  );
  assert.match(open[0]!.reason, /listener bound to 0\.0\.0\.0:6007/);
  const q = { ...p, pid: 7301 };
  assert.deepEqual(
    alerts(
      conn('listen', null, '127.0.0.1:6007', '0.0.0.0:0', q),
      conn('established', 'in', '127.0.0.1:6007', '127.0.0.1:40000', q),
      conn('established', 'out', '127.0.0.1:40001', '127.0.0.1:6006', q),
    ),
    [],
  );
});

test('socat fork: the forked copy relaying its parent’s accepted connection is judged with the parent’s listener', () => {
  const parent = {
    pid: 7400,
    exe: '/usr/bin/socat',
    comm: 'socat',
    argv: ['socat', 'TCP-LISTEN:2222,fork', 'TCP:10.1.2.3:22'],
  };
  const child = {
    ...parent,
    pid: 7401,
    ppid: 7400,
    ancestry: [{ pid: 7400, comm: 'socat', exe: '/usr/bin/socat', argv: parent.argv }],
  };
  const got = alerts(
    conn('listen', null, '0.0.0.0:2222', '0.0.0.0:0', parent),
    conn('established', 'in', '10.0.0.9:2222', '10.0.0.50:40000', parent),
    conn('established', 'out', '10.0.0.9:51000', '10.1.2.3:22', child),
  ).filter((a) => a.rule === 'tunnel.relay');
  assert.deepEqual(
    got.map((a) => a.severity),
    ['high'],
  );
  assert.match(
    got[0]!.reason,
    /socat accepted 10\.0\.0\.50:40000 on 10\.0\.0\.9:2222 and then connected to 10\.1\.2\.3:22: a relay/,
  );
  const exposed = alerts(
    conn('listen', null, '0.0.0.0:6007', '0.0.0.0:0', { ...parent, pid: 7500 }),
    conn('established', 'in', '10.0.0.9:6007', '10.0.0.50:40000', { ...parent, pid: 7500 }),
    conn('established', 'out', '127.0.0.1:51000', '127.0.0.1:6006', {
      ...child,
      pid: 7501,
      ppid: 7500,
      ancestry: [{ pid: 7500, comm: 'socat', exe: '/usr/bin/socat', argv: parent.argv }],
    }),
  );
  assert.deepEqual(
    exposed.map((a) => [a.rule, a.severity]),
    [['tunnel.relay', 'medium']],
  );
});
