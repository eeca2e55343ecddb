import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinEngine, conn, exec } from '../testing.js';

/**
 * Ordinary ML work that looks like tunnels to a name- or port-based rule: every built-in sees it, and
 * none may raise high or critical.
 */
test('ordinary ML work raises nothing high or critical', () => {
  const git = {
    pid: 8000,
    comm: 'git',
    exe: '/usr/bin/git',
    argv: ['git', 'clone', 'ssh://git@ssh.github.com:443/org/repo.git'],
  };
  const vllm = {
    pid: 8100,
    exe: '/opt/venv/bin/python3',
    comm: 'python3',
    argv: ['python3', '-m', 'vllm.entrypoints.openai.api_server', '--port', '8000'],
  };
  const mlflow = {
    pid: 8200,
    exe: '/opt/venv/bin/python3',
    comm: 'mlflow',
    argv: ['mlflow', 'server', '--port', '8080'],
  };
  const vscode = {
    pid: 8300,
    exe: '/usr/bin/ssh',
    comm: 'ssh',
    argv: ['ssh', '-T', '-D', '50123', '-o', 'ConnectTimeout=15', 'host', 'bash'],
  };
  const torch = { pid: 8400, exe: '/opt/venv/bin/python3', comm: 'python3', argv: ['python3', 'train.py'] };
  const uv = {
    pid: 8500,
    exe: '/home/u/.local/share/uv/python/cpython-3.12.8-linux-x86_64-gnu/bin/python3.12',
    comm: 'python3',
    argv: ['python3', 'train.py'],
  };
  const editor = {
    pid: 8600,
    exe: '/home/u/.vscode-server/cli/servers/Stable-abc/server/node',
    comm: 'node',
    argv: ['node', 'extensionHost'],
  };
  const { engine, alerts } = builtinEngine();
  engine.process([
    exec(['ssh', '-L', '8888:localhost:8888', 'gpu-node']),
    exec(['ssh', '-N', '-D', '1080', 'host']),
    exec(['ssh', '-T', '-D', '50123', '-o', 'ConnectTimeout=15', 'host', 'bash'], { pid: 8300 }),
    conn('established', 'out', '10.0.0.9:50000', '10.0.0.20:22', vscode),
    conn('listen', null, '127.0.0.1:50123', '0.0.0.0:0', vscode),
    conn('established', 'in', '127.0.0.1:50123', '127.0.0.1:41000', vscode),
    exec(['ssh', '-J', 'bastion', 'gpu-node']),
    exec(['ssh', '-W', 'gpu-node:22', 'bastion']),
    exec(['ssh', '-o', 'SendEnv=GIT_PROTOCOL', '-p', '443', 'git@ssh.github.com', "git-upload-pack 'org/repo.git'"], {
      pid: 8001,
      ancestry: [{ pid: 8000, comm: 'git', exe: '/usr/bin/git', argv: git.argv }],
    }),
    exec(['socat', 'TCP-LISTEN:6007,bind=127.0.0.1,fork', 'TCP:127.0.0.1:6006']),
    exec(['python3', '-m', 'http.server', '8000']),
    // vLLM downloads its weights, then serves loopback clients on :8000.
    exec(vllm.argv, { pid: 8100 }),
    conn('established', 'out', '10.0.0.9:52000', '18.1.2.3:443', vllm),
    conn('listen', null, '0.0.0.0:8000', '0.0.0.0:0', vllm),
    conn('established', 'in', '127.0.0.1:8000', '127.0.0.1:43000', vllm),
    // MLflow on :8080 with a loopback client, its store on loopback Postgres, artefacts on S3.
    conn('listen', null, '0.0.0.0:8080', '0.0.0.0:0', mlflow),
    conn('established', 'out', '10.0.0.9:53000', '52.1.2.3:443', mlflow),
    conn('established', 'in', '127.0.0.1:8080', '127.0.0.1:44000', mlflow),
    conn('established', 'out', '127.0.0.1:45000', '127.0.0.1:5432', mlflow),
    // A trainer with a Hub connection kept alive reaches its rendezvous store and wandb on loopback.
    conn('established', 'out', '10.0.0.9:54000', '18.1.2.3:443', torch),
    conn('established', 'out', '127.0.0.1:46000', '127.0.0.1:29500', torch),
    conn('established', 'out', '127.0.0.1:46001', '127.0.0.1:38123', torch),
    // The same from a uv-managed interpreter (a hidden directory under home).
    conn('established', 'out', '10.0.0.9:55000', '18.1.2.3:443', uv),
    conn('established', 'out', '127.0.0.1:47000', '127.0.0.1:29500', uv),
    // VS Code's extension host keeps its Copilot connection and opens the user's Jupyter on :8888.
    conn('established', 'out', '10.0.0.9:56000', '140.82.1.2:443', editor),
    conn('established', 'out', '127.0.0.1:48000', '127.0.0.1:8888', editor),
  ]);
  const loud = alerts.filter((a) => a.severity === 'high' || a.severity === 'critical');
  assert.deepEqual(
    loud.map((a) => `${a.ruleId} ${a.severity}: ${a.reason}`),
    [],
  );
});
