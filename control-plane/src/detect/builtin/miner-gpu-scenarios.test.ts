/**
 * Miner and GPU-misuse attacks, and the ML work that looks like them, as event sequences replayed
 * through every built-in: each attack raises its rules at their ranks; the benign work raises nothing
 * at high or critical.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AncestorV1, EventV1, ProcessV1 } from '@vigil/schema';
import { builtinEngine, config, connTo, connect, dns, exec, gpu } from '../testing.js';

function alertsOf(events: EventV1[]) {
  const { engine, alerts } = builtinEngine();
  engine.process(events);
  return alerts;
}
const raised = (events: EventV1[]) =>
  alertsOf(events)
    .map((a) => `${a.ruleId}:${a.severity}`)
    .sort();
const compute = (p: Partial<ProcessV1>) => gpu('NV_ESC_RM_ALLOC', 'HOPPER_COMPUTE_A', p);
const probe = (p: Partial<ProcessV1>) => gpu('NV_ESC_RM_ALLOC', 'NV01_ROOT_CLIENT', p);

const anc = (pid: number, comm: string, exe: string, argv: string[] = [comm]): AncestorV1 => ({ pid, comm, exe, argv });
const SYSTEMD = anc(1, 'systemd', '/usr/lib/systemd/systemd', ['/sbin/init']);
const SLURMSTEPD = anc(3000, 'slurmstepd', '/usr/sbin/slurmstepd', ['slurmstepd: [42.0]']);
const LOGIN = [anc(900, 'bash', '/usr/bin/bash', ['-bash']), anc(800, 'sshd', '/usr/sbin/sshd'), SYSTEMD];
const INTERACTIVE = { job: null, cgroup: '/user.slice/user-1000.slice/session-3.scope', ancestry: LOGIN };
const JOB_PY = anc(4000, 'python3', '/usr/bin/python3.11', ['python3', 'agent.py']);
const TOOL_SHELL = anc(5000, 'bash', '/usr/bin/bash', ['bash', '-c', 'python3 job_util.py']);
const WALLET = `4${'A'.repeat(40)}${'b'.repeat(54)}`;

test('attack: a miner in /usr/local/bin with a driver-like name, just written, computing and holding a pool session', () => {
  const m = {
    pid: 6100,
    exe: '/usr/local/bin/nvidia-smi-helper',
    comm: 'nvidia-smi-help',
    argv: ['nvidia-smi-helper'],
    exeRecentlyWritten: true,
    ...INTERACTIVE,
    ancestry: [SYSTEMD],
  };
  assert.deepEqual(
    raised([
      exec(['nvidia-smi-helper'], m, m.exe),
      compute(m),
      connTo('established', '198.51.100.7:3333', m),
      connTo('close', '198.51.100.7:3333', m, { durationMs: 3_600_000 }),
    ]),
    ['gpu.unexpected-process:high', 'miner.dropped-long-conn:critical'],
  );
});

test('attack: a miner dropped into the job venv bin', () => {
  const m = {
    pid: 6200,
    exe: '/home/u/proj/.venv/bin/nvidia-persistenced',
    comm: 'nvidia-persiste',
    argv: ['nvidia-persistenced'],
    exeRecentlyWritten: true,
    exeInWritableDir: true,
    ancestry: [JOB_PY, SLURMSTEPD, SYSTEMD],
  };
  const alerts = alertsOf([exec(m.argv, m, m.exe), compute(m), connect('198.51.100.7', 443, m, 'rvn.2miners.com')]);
  assert.deepEqual(alerts.map((a) => `${a.ruleId}:${a.severity}`).sort(), [
    'gpu.unexpected-process:critical',
    'miner.pool-dns:critical',
  ]);
  assert.match(
    alerts.find((a) => a.ruleId === 'gpu.unexpected-process')!.reason,
    /\(expectation failed: dropped or writable-place binary\)/,
  );
});

test("attack: mining code run by the job's own python from a shell the job's python spawned, resolving a pool", () => {
  const m = {
    pid: 5001,
    exe: '/usr/bin/python3.11',
    comm: 'python3',
    argv: ['python3', 'job_util.py'],
    ancestry: [TOOL_SHELL, JOB_PY, SLURMSTEPD, SYSTEMD],
  };
  const alerts = alertsOf([exec(m.argv, m, m.exe), dns('gulf.moneroocean.stream', [], m), compute(m)]);
  assert.deepEqual(alerts.map((a) => `${a.ruleId}:${a.severity}`).sort(), [
    'gpu.unexpected-process:critical',
    'miner.pool-dns:critical',
  ]);
  assert.match(
    alerts.find((a) => a.ruleId === 'gpu.unexpected-process')!.reason,
    /flagged by miner\.pool-dns \(expectation failed: started by a shell the job spawned\)/,
  );
});

test('attack: a miner started with no arguments, config.json beside it naming a stratum pool on 443', () => {
  const m = {
    pid: 6300,
    exe: '/home/u/.local/bin/dbus-session',
    comm: 'dbus-session',
    argv: ['dbus-session'],
    exeInWritableDir: true,
    ...INTERACTIVE,
  };
  assert.deepEqual(
    raised([
      exec(m.argv, m, m.exe),
      config('/home/u/.local/bin/config.json', ['"url": "stratum+ssl://203.0.113.9:443"', `"user": "${WALLET}"`], m),
      connect('203.0.113.9', 443, m),
    ]),
    ['miner.config:critical'],
  );
});

test('attack: a pool on 443 known by its DNS name', () => {
  const m = { pid: 6400, exe: '/opt/app/agentd', comm: 'agentd', argv: ['agentd'], ...INTERACTIVE };
  assert.deepEqual(
    raised([dns('xmr-eu1.nanopool.org', ['203.0.113.5'], m), connect('203.0.113.5', 443, m, 'xmr-eu1.nanopool.org')]),
    ['miner.pool-dns:critical'],
  );
});

test('attack: fileless GPU compute', () => {
  const m = {
    pid: 6500,
    exe: '/memfd:k (deleted)',
    comm: '3',
    argv: ['3'],
    fileless: true,
    memfdName: 'k',
    ancestry: [JOB_PY, SLURMSTEPD, SYSTEMD],
  };
  // exec.fileless raises at the exec (high) and again critical once the program uses the GPU.
  assert.deepEqual(raised([exec(m.argv, m, m.exe), compute(m)]), [
    'exec.fileless:critical',
    'exec.fileless:high',
    'gpu.unexpected-process:critical',
  ]);
});

/** High and critical alerts, for the benign work that must raise none. */
const loud = (events: EventV1[]) =>
  alertsOf(events)
    .filter((a) => a.severity === 'high' || a.severity === 'critical')
    .map((a) => `${a.ruleId}:${a.severity}: ${a.reason}`);

test('benign: torchrun and its python workers; a deepspeed launcher in a Slurm batch script', () => {
  const batch = anc(3100, 'bash', '/usr/bin/bash', ['/bin/bash', '/var/spool/slurmd/job42/slurm_script']);
  const torchrun = anc(3200, 'torchrun', '/home/u/.venv/bin/python3', [
    '/home/u/.venv/bin/python3',
    '/home/u/.venv/bin/torchrun',
    '--nproc-per-node=8',
    'train.py',
  ]);
  const worker = (pid: number) => ({
    pid,
    exe: '/home/u/.venv/bin/python3',
    comm: 'python3',
    argv: ['python3', '-u', 'train.py', '--algorithm', 'grpo'],
    exeInWritableDir: true,
    ancestry: [torchrun, batch, SLURMSTEPD, SYSTEMD],
  });
  const ds = anc(3400, 'deepspeed', '/opt/conda/bin/python3.11', ['deepspeed', '--num_gpus=8', 'train.py']);
  const dsWorker = {
    pid: 3500,
    exe: '/opt/conda/bin/python3.11',
    comm: 'python3',
    argv: ['python3', '-u', 'train.py', '--local_rank=0', '--algo', 'ppo'],
    ancestry: [ds, batch, SLURMSTEPD, SYSTEMD],
  };
  assert.deepEqual(
    loud([
      exec(worker(3301).argv, worker(3301)),
      compute(worker(3301)),
      compute(worker(3302)),
      connTo('established', '10.0.0.12:29500', worker(3302)),
      exec(dsWorker.argv, dsWorker),
      compute(dsWorker),
    ]),
    [],
  );
});

test('benign: python from a uv venv, pyenv and conda training from a login shell', () => {
  const uv = {
    pid: 7100,
    exe: '/home/u/.local/share/uv/python/cpython-3.11.9-linux-x86_64-gnu/bin/python3.11',
    comm: 'python3',
    argv: ['/home/u/.venv/bin/python3', 'train.py'],
    exeInWritableDir: true,
    exeRecentlyWritten: true,
    ...INTERACTIVE,
  };
  const pyenv = {
    pid: 7200,
    exe: '/home/u/.pyenv/versions/3.11.9/bin/python3.11',
    comm: 'python3.11',
    argv: ['python', 'train.py'],
    exeInWritableDir: true,
    ...INTERACTIVE,
  };
  const conda = {
    pid: 7300,
    exe: '/home/u/miniconda3/envs/train/bin/python3.11',
    comm: 'python',
    argv: ['python', 'train.py'],
    exeInWritableDir: true,
    ...INTERACTIVE,
  };
  assert.deepEqual(
    alertsOf([
      exec(uv.argv, uv),
      compute(uv),
      exec(pyenv.argv, pyenv),
      compute(pyenv),
      exec(conda.argv, conda),
      compute(conda),
    ]),
    [],
  );
});

test('benign: llm.c — a data download, make train_gpt2cu, then ./train_gpt2cu on the GPU', () => {
  const shell = anc(900, 'bash', '/usr/bin/bash', ['-bash']);
  const at = { cwd: '/home/u/llm.c', ...INTERACTIVE };
  const script = anc(7400, 'bash', '/usr/bin/bash', ['bash', 'dev/download_starter_pack.sh']);
  const make = anc(7500, 'make', '/usr/bin/make', ['make', 'train_gpt2cu']);
  const trainer = {
    pid: 7600,
    exe: '/home/u/llm.c/train_gpt2cu',
    comm: 'train_gpt2cu',
    argv: ['./train_gpt2cu'],
    exeRecentlyWritten: true,
    exeInWritableDir: true,
    ...at,
    ancestry: [shell, ...LOGIN.slice(1)],
  };
  const events = [
    exec(
      [
        'curl',
        '-sSLo',
        'dev/data/tinyshakespeare/tiny_shakespeare_val.bin',
        'https://huggingface.co/datasets/karpathy/llmc-starter-pack/resolve/main/tiny_shakespeare_val.bin',
      ],
      { pid: 7401, ...at, ancestry: [script, ...LOGIN] },
    ),
    exec(['make', 'train_gpt2cu'], { pid: 7500, ...at }),
    exec(
      [
        '/usr/local/cuda/bin/nvcc',
        '-O3',
        '-t=0',
        '--use_fast_math',
        '-std=c++17',
        'train_gpt2.cu',
        '-lcublas',
        '-lcublasLt',
        '-o',
        'train_gpt2cu',
      ],
      { pid: 7501, ...at, ancestry: [make, ...LOGIN] },
    ),
    exec(['./train_gpt2cu'], trainer, trainer.exe),
    compute(trainer),
    connTo('established', '104.16.0.1:443', trainer),
  ];
  assert.deepEqual(loud(events), []);
  assert.deepEqual(
    alertsOf(events).map((a) => `${a.ruleId}:${a.severity}`),
    ['gpu.unexpected-process:low'],
    'context only: dropped, but built here',
  );
});

test('benign: an nvcc build in /tmp and the built CUDA sample; nvidia-smi', () => {
  const at = { cwd: '/tmp/cuda-samples/vectorAdd', ...INTERACTIVE };
  const sample = {
    pid: 7700,
    exe: '/tmp/cuda-samples/vectorAdd/vectorAdd',
    comm: 'vectorAdd',
    argv: ['./vectorAdd'],
    exeRecentlyWritten: true,
    exeInWritableDir: true,
    ...at,
  };
  const smi = { pid: 7800, exe: '/usr/bin/nvidia-smi', comm: 'nvidia-smi', argv: ['nvidia-smi'], ...INTERACTIVE };
  assert.deepEqual(
    loud([
      exec(['/usr/local/cuda/bin/nvcc', 'vectorAdd.cu', '-o', 'vectorAdd'], { pid: 7699, ...at }),
      exec(sample.argv, sample, sample.exe),
      compute(sample),
      exec(smi.argv, smi),
      probe(smi),
    ]),
    [],
  );
});

test('benign: a vLLM server on 8000 with loopback clients, MLflow on 8080, a Jupyter kernel on the GPU', () => {
  const vllm = {
    pid: 8100,
    exe: '/home/u/.venv/bin/python3',
    comm: 'python3',
    argv: ['python', '-m', 'vllm.entrypoints.openai.api_server', '--port', '8000'],
    exeInWritableDir: true,
    ...INTERACTIVE,
  };
  const client = {
    pid: 8200,
    exe: '/usr/bin/curl',
    comm: 'curl',
    argv: ['curl', 'localhost:8000/v1/completions'],
    ...INTERACTIVE,
  };
  const kernel = {
    pid: 8300,
    exe: '/home/u/miniconda3/bin/python3.11',
    comm: 'python',
    argv: ['python', '-m', 'ipykernel_launcher', '-f', '/home/u/.local/share/jupyter/runtime/kernel-1.json'],
    ...INTERACTIVE,
    ancestry: [
      anc(8250, 'jupyter-lab', '/home/u/miniconda3/bin/python3.11', ['python', '/home/u/miniconda3/bin/jupyter-lab']),
      ...LOGIN,
    ],
  };
  assert.deepEqual(
    loud([
      exec(vllm.argv, vllm),
      compute(vllm),
      connTo('listen', '0.0.0.0:0', vllm),
      connect('127.0.0.1', 8000, client),
      connTo('established', '127.0.0.1:8000', client),
      connTo('established', '127.0.0.1:51000', vllm, { direction: 'in' }),
      connect('10.0.0.7', 8080, vllm),
      connect('127.0.0.1', 8080, vllm),
      exec(kernel.argv, kernel),
      compute(kernel),
    ]),
    [],
  );
});

test('benign: grepping for miner indicators, and an RL trainer on the GPU talking to a peer on 3333', () => {
  const rl = {
    pid: 8400,
    exe: '/usr/bin/python3.11',
    comm: 'python3',
    argv: ['python3', 'train.py', '--algorithm', 'grpo'],
  };
  assert.deepEqual(
    loud([
      exec(['grep', '-r', 'stratum+tcp://', '.'], INTERACTIVE),
      exec(['rg', '-n', 'xmrig|supportxmr.com'], INTERACTIVE),
      exec(['journalctl', '-g', 'stratum+tcp://', '-u', 'vigil'], INTERACTIVE),
      exec(['find', '/', '-name', 'xmrig'], INTERACTIVE),
      exec(['less', '/var/log/vigil/alerts.log', '+/pool.supportxmr.com'], INTERACTIVE),
      exec(['vim', 'detections/pools.txt'], INTERACTIVE),
      exec(rl.argv, rl),
      compute(rl),
      connect('10.0.0.5', 3333, rl),
    ]),
    [],
  );
});
