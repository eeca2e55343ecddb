import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinEngine, connect, dns, gpu } from '../testing.js';
import type { EventV1 } from '@vigil/schema';

function raised(...events: EventV1[]): string[] {
  const { engine, alerts } = builtinEngine();
  engine.process(events);
  return alerts.map((a) => `${a.ruleId}:${a.severity}`);
}

const TRAINER = { exe: '/usr/bin/python3.11', comm: 'python3', argv: ['python3', 'serve.py'] };

test('miner.pool-connect: 8000/8080/8888 and loopback peers are never pools by port', () => {
  assert.deepEqual(
    raised(
      connect('127.0.0.1', 8000, { exe: '/usr/bin/curl', comm: 'curl', argv: ['curl', 'localhost:8000/v1/models'] }),
      connect('10.0.0.7', 8080, TRAINER),
      connect('10.0.0.7', 8000, TRAINER),
      connect('10.0.0.7', 8888, TRAINER),
      connect('127.0.0.1', 3333, { exe: '/tmp/x/app', comm: 'app', argv: ['/tmp/x/app'] }),
      connect('::1', 4444, { exe: '/tmp/x/app', comm: 'app', argv: ['/tmp/x/app'] }),
    ),
    [],
  );
});

test('miner.pool-connect: GPU use does not corroborate a pool port; a port alone raises nothing', () => {
  assert.deepEqual(raised(gpu('NV_ESC_RM_ALLOC', 'HOPPER_COMPUTE_A', TRAINER), connect('10.0.0.5', 3333, TRAINER)), []);
  // A dropped binary on a pool port is corroborated.
  assert.deepEqual(
    raised(connect('198.51.100.7', 3333, { exe: '/home/u/.x/kw', comm: 'kw', argv: ['kw'], exeRecentlyWritten: true })),
    ['miner.pool-connect:high'],
  );
  // A pool named in argv is critical at any port.
  assert.deepEqual(
    raised(connect('198.51.100.7', 443, { exe: '/srv/a/app', comm: 'app', argv: ['app', 'pool.supportxmr.com:443'] })),
    ['miner.pool-connect:critical'],
  );
});

test('miner.pool-dns: a pool name queried, answered, or named by the peer of a connection on 443', () => {
  const app = { exe: '/srv/a/app', comm: 'app', argv: ['app'] };
  const { engine, alerts } = builtinEngine();
  engine.process([
    dns('xmr-eu1.nanopool.org', [], app),
    dns('xmr-eu1.nanopool.org', ['203.0.113.5'], app),
    connect('203.0.113.5', 443, app, 'xmr-eu1.nanopool.org'),
  ]);
  assert.deepEqual(
    alerts.map((a) => `${a.ruleId}:${a.severity}`),
    ['miner.pool-dns:critical'],
    'one alert per process, repeats folded',
  );
  assert.match(alerts[0]!.reason, /queried xmr-eu1\.nanopool\.org \(pool domain nanopool\.org\) via 127\.0\.0\.53:53/);
  assert.deepEqual(raised(connect('203.0.113.5', 443, app, 'gulf.moneroocean.stream')), ['miner.pool-dns:critical']);
  // An operator looking a pool up ranks medium; ordinary names raise nothing.
  assert.deepEqual(
    raised(dns('pool.supportxmr.com', [], { exe: '/usr/bin/dig', comm: 'dig', argv: ['dig', 'pool.supportxmr.com'] })),
    ['miner.pool-dns:medium'],
  );
  assert.deepEqual(raised(dns('huggingface.co', ['18.0.0.1'], app), dns('notsupportxmr.com', [], app)), []);
});
