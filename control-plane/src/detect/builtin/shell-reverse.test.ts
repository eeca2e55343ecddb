import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EventV1 } from '@vigil/schema';
import {
  builtinEngine,
  conn,
  connect,
  exec,
  execWithStdio,
  exeReference,
  loud,
  socketStdio,
  tcpFd,
  ttyStdio,
} from '../testing.js';

const BASH_SHA = 'b'.repeat(64);
const run = (...events: EventV1[]) => {
  const { engine, alerts } = builtinEngine();
  engine.process(events);
  return alerts;
};
const only = (alerts: ReturnType<typeof run>, id: string) => alerts.filter((a) => a.ruleId === id);

test('shell.reverse: bash -i with its stdio on a TCP socket to 10.0.0.5:4444 is critical, naming the fds and the peer', () => {
  const alerts = run(execWithStdio(['bash', '-i'], socketStdio('10.0.0.5:4444')));
  const [a] = only(alerts, 'shell.reverse');
  assert.ok(a, alerts.map((x) => x.ruleId).join());
  assert.equal(a.severity, 'critical');
  assert.match(
    a.reason,
    /^reverse shell: bash \/usr\/bin\/bash \(pid 4242\) started and its fds 0, 1, 2 are a TCP socket connected to 10\.0\.0\.5:4444$/,
  );
});

test('shell.reverse: on loopback one strong signal ranks high', () => {
  const [a] = only(run(execWithStdio(['sh', '-i'], socketStdio('127.0.0.1:4444'))), 'shell.reverse');
  assert.equal(a?.severity, 'high');
  assert.match(a.reason, /127\.0\.0\.1:4444 \(loopback\)/);
});

test('shell.reverse: a renamed copy of bash in /tmp is bash by its content hash', () => {
  const alerts = run(
    exeReference('/usr/bin/bash', BASH_SHA),
    execWithStdio(['kworker'], socketStdio('203.0.113.7:443'), { exeHash: BASH_SHA }, '/tmp/.x/kworker'),
  );
  const [a] = only(alerts, 'shell.reverse');
  assert.equal(a?.severity, 'critical');
  assert.match(
    a.reason,
    /\/tmp\/\.x\/kworker \(pid 4242\), a renamed copy of bash \(same content hash as the host's bash\)/,
  );
  assert.match(a.reason, /203\.0\.113\.7:443/);
  // Without the reference hash the same file is nothing known: not a shell.
  assert.deepEqual(
    only(
      run(execWithStdio(['kworker'], socketStdio('203.0.113.7:443'), { exeHash: BASH_SHA }, '/tmp/.x/kworker')),
      'shell.reverse',
    ),
    [],
  );
});

test('shell.reverse: interpreters (python, node, perl, ruby, php, awk, busybox sh) with socket stdio', () => {
  for (const argv of [
    ['python3', 'x.py'],
    ['/usr/bin/python3.11', '-'],
    ['node', '-e', 'x'],
    ['perl', '-e', 'x'],
    ['ruby', 'x.rb'],
    ['php8.2', 'x.php'],
    ['gawk', 'x'],
    ['lua5.4', 'x'],
  ]) {
    const [a] = only(run(execWithStdio(argv, [tcpFd(0, '10.0.0.5:9001')])), 'shell.reverse');
    assert.equal(a?.severity, 'critical', argv.join(' '));
    assert.match(a.reason, /fd 0 is a TCP socket connected to 10\.0\.0\.5:9001/);
  }
  const [bb] = only(run(execWithStdio(['sh'], socketStdio('10.0.0.5:9001'), {}, '/bin/busybox')), 'shell.reverse');
  assert.match(bb?.reason ?? '', /busybox sh/);
  // busybox running another applet is not a shell.
  assert.deepEqual(
    only(run(execWithStdio(['busybox', 'cat'], socketStdio('10.0.0.5:9001'), {}, '/bin/busybox')), 'shell.reverse'),
    [],
  );
});

test('shell.reverse: a compiled dropper in /tmp that dup2s its socket and execs sh', () => {
  const dropper = { pid: 5100, comm: 'rs', exe: '/tmp/rs', argv: ['/tmp/rs', '10.0.0.5', '4444'] };
  const alerts = run(
    execWithStdio(['/tmp/rs', '10.0.0.5', '4444'], ttyStdio(), { pid: 5100 }),
    connect('10.0.0.5', 4444, { pid: 5100, comm: 'rs', exe: '/tmp/rs', argv: dropper.argv }),
    execWithStdio(
      ['sh'],
      socketStdio('10.0.0.5:4444', '10.0.0.2:40312'),
      {
        pid: 5101,
        ancestry: [dropper, ...exec(['x']).proc.ancestry],
      },
      '/bin/sh',
    ),
  );
  const [a] = only(alerts, 'shell.reverse');
  assert.equal(a?.severity, 'critical');
  assert.equal(a.proc?.pid, 5101);
});

test('shell.reverse: a bind shell — stdio on an accepted socket — says so', () => {
  const [a] = only(
    run(execWithStdio(['sh'], socketStdio('198.51.100.9:51234', '10.0.0.2:4444'), {}, '/bin/sh')),
    'shell.reverse',
  );
  assert.equal(a?.severity, 'critical');
  assert.match(a.reason, /^bind shell: .*accepted on 10\.0\.0\.2:4444 from 198\.51\.100\.9:51234/);
  // The listener's own port tells it even when both ports look alike.
  const listener = { pid: 5200, comm: 'nc', exe: '/usr/bin/nc', argv: ['nc', '-lp', '40000', '-e', '/bin/sh'] };
  const alerts = run(
    conn('listen', null, '0.0.0.0:40000', '0.0.0.0:0', {
      pid: 5200,
      comm: 'nc',
      exe: '/usr/bin/nc',
      argv: listener.argv,
    }),
    execWithStdio(['sh'], socketStdio('127.0.0.1:50000', '127.0.0.1:40000'), { pid: 5201, ppid: 5200 }, '/bin/sh'),
  );
  const [b] = only(alerts, 'shell.reverse');
  assert.equal(b?.severity, 'high', 'loopback');
  assert.match(b.reason, /^bind shell: /);
});

test('shell.reverse stays quiet: a listener or no stdio telemetry, terminals, pipes; a wait-for-port cat on loopback raises nothing', () => {
  const alerts = run(
    execWithStdio(['bash'], [tcpFd(0, '0.0.0.0:0', '0.0.0.0:8080')]),
    exec(['bash', '-i']),
    execWithStdio(['bash', '-l'], ttyStdio()),
    execWithStdio(['bash', '-c', 'cat </dev/null >/dev/tcp/127.0.0.1/8000'], ttyStdio(), { pid: 6000 }),
    execWithStdio(['cat'], [tcpFd(1, '127.0.0.1:8000')], { pid: 6001 }),
  );
  assert.deepEqual(
    alerts.map((a) => `${a.ruleId}: ${a.reason}`),
    [],
  );
  assert.deepEqual(loud(alerts), []);
});

test('shell.reverse: a shell on a pty whose parent (script -qc) has its stdio on the socket is a reverse shell through a pty', () => {
  const script = execWithStdio(['script', '-qc', '/bin/sh', '/dev/null'], socketStdio('10.0.0.5:4444'), { pid: 5300 });
  const alerts = run(script, execWithStdio(['/bin/sh'], ttyStdio(), { pid: 5301, ppid: 5300 }));
  const a = only(alerts, 'shell.reverse').find((x) => x.proc?.pid === 5301);
  assert.equal(a?.severity, 'critical');
  assert.match(
    a.reason,
    /^reverse shell through a pty: sh \/bin\/sh \(pid 5301\) started on a terminal whose parent \/usr\/bin\/script \(pid 5300\) relays it, and the parent's fds 0, 1, 2 are a TCP socket connected to 10\.0\.0\.5:4444$/,
  );
  assert.ok(a.evidence.includes(script.id));
  const [loop] = only(
    run(
      execWithStdio(['script', '-qc', 'sh', '/dev/null'], socketStdio('127.0.0.1:4444'), { pid: 5310 }),
      execWithStdio(['sh'], ttyStdio(), { pid: 5311, ppid: 5310 }),
    ),
    'shell.reverse',
  );
  assert.equal(loop?.severity, 'high');
});

test('shell.reverse: a login shell on a pty under sshd (handed its connection on stdio), tmux or script on a terminal raises nothing', () => {
  const quiet = (parent: EventV1, child: EventV1) => assert.deepEqual(only(run(parent, child), 'shell.reverse'), []);
  quiet(
    execWithStdio(['/usr/sbin/sshd', '-R'], socketStdio('10.0.0.9:51000'), { pid: 5400 }, '/usr/sbin/sshd'),
    execWithStdio(['-bash'], ttyStdio(), { pid: 5401, ppid: 5400 }, '/usr/bin/bash'),
  );
  quiet(
    execWithStdio(['tmux', 'new'], ttyStdio(), { pid: 5410 }),
    execWithStdio(['bash'], ttyStdio(), { pid: 5411, ppid: 5410 }),
  );
  quiet(
    execWithStdio(['script', '-q', 'log.txt'], ttyStdio(), { pid: 5420 }),
    execWithStdio(['bash'], ttyStdio(), { pid: 5421, ppid: 5420 }),
  );
});
