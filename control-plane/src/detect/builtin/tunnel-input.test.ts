import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EventV1 } from '@vigil/schema';
import { builtinEngine, config, conn, exec } from '../testing.js';
import { globMatches } from './tunnel-ssh-grammar.js';

test('ssh Host patterns match as ssh does: *, ?, case-insensitive', () => {
  assert.ok(globMatches('gpu-*', 'GPU-node1'));
  assert.ok(globMatches('gpu-?', 'gpu-1'));
  assert.ok(globMatches('*.example.*', 'a.example.com'));
  assert.ok(!globMatches('gpu-?', 'gpu-12'));
  assert.ok(!globMatches('*x', 'abc'));
  assert.ok(globMatches('*', ''));
});

test('a config of the workload’s with many stars against a host that does not match is read, not backtracked on', () => {
  const p = { pid: 9100, argv: ['ssh', 'a'.repeat(60)] };
  const { engine, alerts } = builtinEngine();
  engine.process([config('/tmp/cfg', [`1: Host ${'*'.repeat(40)}x`, '2: RemoteForward 9000 localhost:22'], p)]);
  assert.deepEqual(alerts, []);
  assert.equal(engine.errors.size, 0);
});

/** Small deterministic generator: the same odd inputs on every run. */
function* oddInputs(n: number): Generator<string[]> {
  const parts = [
    '-R',
    '-L',
    '-D',
    '-o',
    '-F',
    '-e',
    '-l',
    '-L',
    '-F',
    'client',
    'server',
    'tunnel',
    'local',
    '--to',
    '--url',
    '--token',
    'tcp',
    'R:',
    ':',
    '::',
    '[',
    ']',
    '[::1]:22',
    'TCP-LISTEN:',
    'EXEC:',
    'tcp://:',
    '//',
    '0',
    '65536',
    '-',
    '',
    ' ',
    'x'.repeat(300),
    'RemoteForward',
    '=',
    'localhost:22',
    '10.1.2.3:8080',
    'R:socks',
    'rtcp://:1/',
  ];
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  for (let i = 0; i < n; i++) {
    const len = 1 + (next() % 8);
    yield Array.from(
      { length: len },
      () => parts[next() % parts.length]! + (next() % 3 === 0 ? parts[next() % parts.length]! : ''),
    );
  }
}

test('odd argv, config lines and endpoints never make a tunnel rule throw', () => {
  const { engine } = builtinEngine();
  const events: EventV1[] = [];
  let pid = 20_000;
  for (const words of oddInputs(400)) {
    pid++;
    for (const argv0 of ['ssh', 'socat', 'nc', '/tmp/x'])
      events.push(exec([argv0, ...words], { pid: pid * 4 + (events.length % 4) }));
    events.push(config('/tmp/c', words, { pid, argv: ['ssh', ...words] }));
    events.push(
      config('/tmp/c', words.map((w) => `serverAddr = ${w}`).concat(['[[proxies]]', `localPort = ${words[0]}`]), {
        pid,
      }),
    );
    events.push(conn('established', 'out', '10.0.0.9:1', `${words[0]?.replace(/:/g, '') || '1.2.3.4'}:443`, { pid }));
    events.push(conn('established', 'out', '127.0.0.1:2', '127.0.0.1:22', { pid }));
  }
  engine.process(events);
  assert.deepEqual([...engine.errors], []);
});
