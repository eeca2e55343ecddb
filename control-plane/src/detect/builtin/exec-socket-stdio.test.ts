import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EventV1 } from '@vigil/schema';
import { builtinEngine, execWithStdio, loud, pipeFd, socketStdio, tcpFd } from '../testing.js';

const run = (...events: EventV1[]) => {
  const { engine, alerts } = builtinEngine();
  engine.process(events);
  return alerts;
};

test('exec.socket-stdio: cat relaying a remote peer on its stdin is medium, with the fd and the peer', () => {
  const alerts = run(execWithStdio(['cat'], [tcpFd(0, '10.0.0.5:4444'), pipeFd(1, 77)], {}, '/usr/bin/cat'));
  assert.deepEqual(
    alerts.map((a) => [a.ruleId, a.severity, a.reason]),
    [
      [
        'exec.socket-stdio',
        'medium',
        '/usr/bin/cat (pid 4242) started and its fd 0 is a TCP socket connected to 10.0.0.5:4444',
      ],
    ],
  );
});

test('exec.socket-stdio: nothing on loopback (wait-for-port idiom), for sshd’s re-exec, or for a shell (shell.reverse)', () => {
  assert.deepEqual(run(execWithStdio(['cat'], [tcpFd(1, '127.0.0.1:8000')])), []);
  assert.deepEqual(
    run(execWithStdio(['/usr/sbin/sshd', '-D', '-R'], socketStdio('198.51.100.4:50122', '10.0.0.2:22'))),
    [],
  );
  assert.deepEqual(
    run(
      execWithStdio(
        ['sshd-session'],
        socketStdio('198.51.100.4:50122', '10.0.0.2:22'),
        {},
        '/usr/lib/openssh/sshd-session',
      ),
    ),
    [],
  );
  const shell = run(execWithStdio(['bash', '-i'], socketStdio('10.0.0.5:4444')));
  assert.deepEqual(
    shell.map((a) => a.ruleId),
    ['shell.reverse'],
  );
  // A copy of sshd elsewhere is not the installed service.
  const copy = run(execWithStdio(['sshd'], socketStdio('10.0.0.5:4444'), {}, '/tmp/sshd'));
  assert.deepEqual(
    copy.map((a) => a.ruleId),
    ['exec.socket-stdio'],
  );
  assert.deepEqual(loud(copy), []);
});
