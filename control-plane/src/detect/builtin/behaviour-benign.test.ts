/**
 * Ordinary work on a training host, with the behavioural telemetry (stdio, conn) the sensor sends:
 * every built-in sees it, and none may raise high or critical.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AncestorV1, EventV1 } from '@vigil/schema';
import {
  builtinEngine,
  conn,
  connect,
  execWithStdio,
  fileFd,
  loud,
  pipeFd,
  socketStdio,
  tcpFd,
  ttyFd,
  ttyStdio,
} from '../testing.js';

const at = (pid: number, comm: string, exe: string, argv: string[]): AncestorV1 => ({ pid, comm, exe, argv });
const sshd = at(100, 'sshd', '/usr/sbin/sshd', ['sshd: u@pts/0']);
const login = at(101, 'bash', '/usr/bin/bash', ['-bash']);
const pipes = (a: number) => [pipeFd(0, a), pipeFd(1, a + 1), pipeFd(2, a + 2)];

function workload(): EventV1[] {
  const trainer = { pid: 200, comm: 'python3', exe: '/opt/torch/.venv/bin/python3', argv: ['python3', 'train.py'] };
  const vscode = at(300, 'node', '/home/u/.vscode-server/bin/abc/node', [
    '/home/u/.vscode-server/bin/abc/node',
    'out/server-main.js',
  ]);
  const jupyter = at(400, 'python3', '/home/u/.venv/bin/python3', ['python3', '/home/u/.venv/bin/jupyter-lab']);
  const tmux = at(500, 'tmux: server', '/usr/bin/tmux', ['tmux', 'new', '-s', 'train']);
  return [
    // An ssh login: sshd's re-exec has the connection on stdio, the shell a pty.
    execWithStdio(['/usr/sbin/sshd', '-D', '-R'], socketStdio('198.51.100.4:50122', '10.0.0.2:22'), { pid: 100 }),
    conn('established', 'in', '10.0.0.2:22', '198.51.100.4:50122', { pid: 100, comm: 'sshd', exe: '/usr/sbin/sshd' }),
    execWithStdio(['-bash'], ttyStdio(), { pid: 101, ppid: 100, ancestry: [sshd] }, '/usr/bin/bash'),
    // Wait-for-port loops on vLLM's :8000.
    execWithStdio(['timeout', '1', 'bash', '-c', 'cat </dev/null >/dev/tcp/127.0.0.1/8000'], ttyStdio(), {
      pid: 102,
      ancestry: [login, sshd],
    }),
    execWithStdio(['cat'], [fileFd(0), tcpFd(1, '127.0.0.1:8000', '127.0.0.1:45000'), ttyFd(2)], { pid: 103 }),
    execWithStdio(['bash', '-c', 'until </dev/tcp/localhost/8000; do sleep 1; done'], ttyStdio(), { pid: 104 }),
    // uv's installer.
    execWithStdio(['curl', '-LsSf', 'https://astral.sh/uv/install.sh'], [ttyFd(0), pipeFd(1, 600), ttyFd(2)], {
      pid: 105,
    }),
    connect('104.21.2.3', 443, {
      pid: 105,
      comm: 'curl',
      exe: '/usr/bin/curl',
      argv: ['curl', '-LsSf', 'https://astral.sh/uv/install.sh'],
    }),
    execWithStdio(['sh'], [pipeFd(0, 600), ttyFd(1), ttyFd(2)], { pid: 106 }, '/usr/bin/sh'),
    // ssh host bash -s < script.
    execWithStdio(['ssh', 'login1', 'bash', '-s'], [fileFd(0), ttyFd(1), ttyFd(2)], { pid: 107 }),
    connect('10.0.0.9', 22, { pid: 107, comm: 'ssh', exe: '/usr/bin/ssh', argv: ['ssh', 'login1', 'bash', '-s'] }),
    // A trainer that fetched from the Hub, talks to its peers, and runs nvidia-smi through bash -c.
    execWithStdio(['python3', 'train.py'], ttyStdio(), { pid: 200, ancestry: [tmux] }, trainer.exe),
    connect('18.164.0.1', 443, trainer),
    conn('established', 'out', '10.0.0.2:41000', '10.0.0.9:29500', trainer),
    execWithStdio(
      ['/bin/bash', '-c', 'nvidia-smi'],
      pipes(700),
      { pid: 201, ancestry: [at(200, 'python3', trainer.exe, trainer.argv), tmux] },
      '/bin/bash',
    ),
    execWithStdio(
      ['/bin/bash', '-c', 'nvidia-smi'],
      ttyStdio(),
      { pid: 202, ancestry: [at(200, 'python3', trainer.exe, trainer.argv), tmux] },
      '/bin/bash',
    ),
    // tmux panes.
    execWithStdio(['-bash'], ttyStdio(), { pid: 501, ancestry: [tmux] }, '/usr/bin/bash'),
    // VS Code Remote: its server connects out and to its own loopback ports, terminals are ptys, tasks pipes.
    connect('13.107.5.1', 443, { pid: 300, comm: 'node', exe: vscode.exe, argv: vscode.argv }),
    conn('established', 'out', '127.0.0.1:50000', '127.0.0.1:35000', {
      pid: 300,
      comm: 'node',
      exe: vscode.exe,
      argv: vscode.argv,
    }),
    execWithStdio(
      ['/bin/bash', '--init-file', 'shellIntegration.sh'],
      ttyStdio(),
      { pid: 301, ancestry: [vscode] },
      '/bin/bash',
    ),
    execWithStdio(['/bin/sh', '-c', 'git status'], pipes(710), { pid: 302, ancestry: [vscode] }, '/bin/sh'),
    // Jupyter: kernels over loopback zmq, a terminal, a shell escape.
    connect('127.0.0.1', 45123, { pid: 400, comm: 'python3', exe: jupyter.exe, argv: jupyter.argv }),
    execWithStdio(['/bin/bash', '-l'], ttyStdio(), { pid: 401, ancestry: [jupyter] }, '/bin/bash'),
    execWithStdio(['python3', '-m', 'ipykernel_launcher', '-f', 'k.json'], pipes(720), {
      pid: 402,
      ancestry: [jupyter],
    }),
    execWithStdio(
      ['/bin/bash', '-c', 'pip list'],
      pipes(730),
      { pid: 403, ancestry: [at(402, 'python3', '/usr/bin/python3', ['python3', '-m', 'ipykernel_launcher'])] },
      '/bin/bash',
    ),
    // A pipeline of local programs into a shell.
    execWithStdio(['cat', 'setup.sh'], [fileFd(0), pipeFd(1, 740), ttyFd(2)], { pid: 801 }),
    execWithStdio(['bash'], [pipeFd(0, 740), ttyFd(1), ttyFd(2)], { pid: 802 }, '/usr/bin/bash'),
  ];
}

test('benign work with stdio and conn telemetry raises nothing high or critical across every built-in', () => {
  const { engine, alerts } = builtinEngine();
  engine.process(workload());
  assert.deepEqual(loud(alerts), []);
  // What it does raise: curl | sh from astral.sh, as medium.
  assert.deepEqual(
    alerts.map((a) => `${a.ruleId}:${a.severity}`),
    ['shell.pipe-from-network:medium'],
  );
});
