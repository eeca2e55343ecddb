import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AncestorV1, EventV1, ProcessV1, StdioFdV1 } from '@vigil/schema';
import { builtinEngine, conn, connect, execWithStdio, loud, pipeFd, ttyStdio } from '../testing.js';

const RULE = 'shell.spawned-by-connection';
const run = (...events: EventV1[]) => {
  const { engine, alerts } = builtinEngine();
  engine.process(events);
  return alerts;
};
const job = execWithStdio(['x'], []).proc.ancestry;

/** A parent process (pid 8000) and what it did, then a shell it started (pid 8001) with `stdio`. */
function spawned(
  parentArgv: string[],
  parentExe: string,
  did: (p: Partial<ProcessV1>) => EventV1[],
  shellArgv = ['/bin/sh'],
  stdio = ttyStdio(),
) {
  const comm = parentExe.split('/').pop()!.slice(0, 15);
  const p: Partial<ProcessV1> = { pid: 8000, comm, exe: parentExe, argv: parentArgv };
  const parent: AncestorV1 = { pid: 8000, comm, exe: parentExe, argv: parentArgv };
  const events = [execWithStdio(parentArgv, ttyStdio(), p, parentExe), ...did(p)];
  events.push(execWithStdio(shellArgv, stdio, { pid: 8001, ppid: 8000, ancestry: [parent, ...job] }, '/bin/sh'));
  return events;
}

test('shell.spawned-by-connection: python connects out, then pty.spawn("/bin/sh") — high, naming the parent and the peer', () => {
  const alerts = run(...spawned(['python3', '/tmp/x.py'], '/usr/bin/python3', (p) => [connect('10.0.0.5', 4444, p)]));
  const [a] = alerts.filter((x) => x.ruleId === RULE);
  assert.equal(a?.severity, 'high');
  assert.equal(
    a!.reason,
    'sh /bin/sh (pid 8001) started on a terminal (fd 0 a tty) by the interpreter /usr/bin/python3 (pid 8000), which holds a connection to 10.0.0.5:4444',
  );
  assert.equal(a!.evidence.length, 2);
});

test('shell.spawned-by-connection: through a shell between (pty.spawn of sh -c "bash -i")', () => {
  const py = { pid: 8000, comm: 'python3', exe: '/usr/bin/python3', argv: ['python3', 'x.py'] };
  const sh = { pid: 8001, comm: 'sh', exe: '/bin/sh', argv: ['sh', '-c', 'bash -i'] };
  const alerts = run(
    execWithStdio(py.argv, ttyStdio(), py, py.exe),
    connect('10.0.0.5', 4444, py),
    execWithStdio(['bash', '-i'], ttyStdio(), { pid: 8002, ppid: 8001, ancestry: [sh, py, ...job] }, '/bin/bash'),
  );
  assert.match(
    alerts.find((a) => a.ruleId === RULE)?.reason ?? '',
    /^bash \/bin\/bash \(pid 8002\) .* by the interpreter \/usr\/bin\/python3 \(pid 8000\), which holds a connection to 10\.0\.0\.5:4444$/,
  );
});

test('shell.spawned-by-connection: a dropped binary with an established conn; loopback is medium; a closed connection is not held', () => {
  const dropped = run(
    ...spawned(['/tmp/.x/agent'], '/tmp/.x/agent', (p) => [
      conn('established', 'out', '10.0.0.2:40000', '198.51.100.7:8443', p),
    ]),
  );
  assert.equal(dropped.find((a) => a.ruleId === RULE)?.severity, 'high');
  assert.match(
    dropped.find((a) => a.ruleId === RULE)!.reason,
    /\/tmp\/\.x\/agent, run from a writable place \(pid 8000\)/,
  );
  const loop = run(...spawned(['perl', 'x.pl'], '/usr/bin/perl', (p) => [connect('127.0.0.1', 4444, p)]));
  assert.equal(loop.find((a) => a.ruleId === RULE)?.severity, 'medium');
  const closed = run(
    ...spawned(['python3', 'x.py'], '/usr/bin/python3', (p) => [
      conn('established', 'out', '10.0.0.2:40000', '10.0.0.5:4444', p),
      conn('close', 'out', '10.0.0.2:40000', '10.0.0.5:4444', p),
    ]),
  );
  assert.deepEqual(
    closed.filter((a) => a.ruleId === RULE),
    [],
  );
});

test('shell.spawned-by-connection stays quiet: trainer running bash -c nvidia-smi, web ports, sshd, tmux, VS Code server, Jupyter', () => {
  const hf = (p: Partial<ProcessV1>) => [connect('18.164.0.1', 443, p), connect('10.0.0.9', 29500, p)];
  const cases: [string, EventV1[]][] = [
    [
      'trainer: bash -c nvidia-smi with pipes',
      spawned(
        ['python3', 'train.py'],
        '/usr/bin/python3',
        hf,
        ['/bin/bash', '-c', 'nvidia-smi'],
        [pipeFd(0, 1), pipeFd(1, 2), pipeFd(2, 3)],
      ),
    ],
    [
      'trainer in a terminal: bash -c nvidia-smi on the tty',
      spawned(['python3', 'train.py'], '/usr/bin/python3', hf, ['/bin/bash', '-c', 'nvidia-smi']),
    ],
    [
      'python on 443 only spawns an interactive shell',
      spawned(['python3', 'x.py'], '/usr/bin/python3', (p) => [connect('18.164.0.1', 443, p)], ['/bin/bash']),
    ],
    [
      'sshd session',
      spawned(
        ['sshd: u@pts/0'],
        '/usr/sbin/sshd',
        (p) => [conn('established', 'in', '10.0.0.2:22', '198.51.100.4:50122', p)],
        ['-bash'],
      ),
    ],
    ['tmux', spawned(['tmux', 'new', '-s', 'x'], '/usr/bin/tmux', () => [], ['-bash'])],
    [
      'VS Code server terminal',
      spawned(
        ['/home/u/.vscode-server/bin/abc/node', '/home/u/.vscode-server/bin/abc/out/server-main.js'],
        '/home/u/.vscode-server/bin/abc/node',
        (p) => [connect('127.0.0.1', 35000, p), connect('13.107.5.1', 8443, p)],
        ['/bin/bash', '--init-file', 'x'],
      ),
    ],
    [
      'Jupyter terminal',
      spawned(
        ['python3', '/home/u/.venv/bin/jupyter-lab', '--port', '8888'],
        '/home/u/.venv/bin/python3',
        (p) => [connect('127.0.0.1', 45123, p)],
        ['/bin/bash', '-l'],
      ),
    ],
    [
      'Jupyter kernel shell escape',
      spawned(
        ['python3', '-m', 'ipykernel_launcher', '-f', 'k.json'],
        '/usr/bin/python3',
        (p) => [connect('127.0.0.1', 45123, p)],
        ['/bin/bash', '-c', 'ls'],
        [pipeFd(0, 5), pipeFd(1, 6), pipeFd(2, 7)],
      ),
    ],
  ];
  for (const [name, events] of cases) {
    const alerts = run(...events);
    assert.deepEqual(
      alerts.filter((a) => a.ruleId === RULE).map((a) => a.reason),
      [],
      name,
    );
    assert.deepEqual(loud(alerts), [], name);
  }
});

test('shell.spawned-by-connection: node connects out and spawns /bin/sh on a socketpair (child_process) — the shell reads its commands from the parent', () => {
  const unix = [0, 1, 2].map((fd) => ({ fd, type: 'unix' as const, ino: 500 + fd }));
  const far = run(
    ...spawned(
      ['node', '-e', '…'],
      '/usr/bin/node',
      (p) => [conn('established', 'out', '10.0.0.2:40000', '10.0.0.5:4444', p)],
      ['/bin/sh'],
      unix,
    ),
  );
  const [a] = far.filter((x) => x.ruleId === RULE);
  assert.equal(a?.severity, 'high');
  assert.match(
    a!.reason,
    /reading its commands from its parent \(fd 0 a unix, no command given\) by the interpreter \/usr\/bin\/node/,
  );
  const local = run(
    ...spawned(
      ['node', '-e', '…'],
      '/usr/bin/node',
      (p) => [conn('established', 'out', '127.0.0.1:40000', '127.0.0.1:4444', p)],
      ['/bin/sh'],
      [pipeFd(0, 9), pipeFd(1, 10), pipeFd(2, 11)],
    ),
  );
  assert.equal(local.find((x) => x.ruleId === RULE)?.severity, 'medium', 'loopback, through a pipe');
  // A shell given a command through a pipe is a script's subprocess, not one reading commands.
  const withCommand = run(
    ...spawned(
      ['node', '-e', '…'],
      '/usr/bin/node',
      (p) => [conn('established', 'out', '10.0.0.2:40000', '10.0.0.5:4444', p)],
      ['/bin/sh', '-c', 'ls'],
      unix,
    ),
  );
  assert.deepEqual(
    withCommand.filter((x) => x.ruleId === RULE),
    [],
  );
  assert.deepEqual(loud(withCommand), []);
});

test('shell.spawned-by-connection: python holding a connection on 443 gives sh -i a pty of its own making (pty.fork relay) — web ports no longer excuse it', () => {
  const py = { pid: 8100, comm: 'python3', exe: '/usr/bin/python3', argv: ['python3', '/tmp/hf_sync.py'] };
  const parent: AncestorV1 = { ...py };
  const devNull: StdioFdV1[] = [0, 1, 2].map((fd) => ({ fd, type: 'char' as const, ino: 6 }));
  const shell = (ino: number | null) =>
    execWithStdio(
      ['sh', '-i'],
      [0, 1, 2].map((fd) => ({ fd, type: 'tty' as const, ino })),
      { pid: 8101, ppid: 8100, ancestry: [parent, ...job] },
      '/bin/sh',
    );
  const [a] = run(execWithStdio(py.argv, devNull, py, py.exe), connect('203.0.113.8', 443, py), shell(41)).filter(
    (x) => x.ruleId === RULE,
  );
  assert.equal(a?.severity, 'high');
  assert.match(a.reason, /on a terminal \(fd 0 a tty its starter is not on: one it made\).*203\.0\.113\.8:443$/);
  // Started from a terminal, a shell on another pty than the starter's is a new one too.
  const tty = (ino: number): StdioFdV1[] => [0, 1, 2].map((fd) => ({ fd, type: 'tty' as const, ino }));
  const [b] = run(execWithStdio(py.argv, tty(40), py, py.exe), connect('127.0.0.1', 443, py), shell(41)).filter(
    (x) => x.ruleId === RULE,
  );
  assert.equal(b?.severity, 'medium');
  // On the starter's own terminal, 443 is still a download.
  assert.deepEqual(
    run(execWithStdio(py.argv, tty(41), py, py.exe), connect('203.0.113.8', 443, py), shell(41)).filter(
      (x) => x.ruleId === RULE,
    ),
    [],
  );
});
