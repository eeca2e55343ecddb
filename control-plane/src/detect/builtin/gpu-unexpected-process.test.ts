import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AncestorV1, EventV1, ProcessV1 } from '@vigil/schema';
import { builtinEngine, exec, execWithStdio, exeReport, gpu, pipeFd, ttyStdio } from '../testing.js';

function alertsOf(...events: EventV1[]) {
  const { engine, alerts } = builtinEngine();
  engine.process(events);
  return alerts;
}
const raised = (...events: EventV1[]) => alertsOf(...events).map((a) => `${a.ruleId}:${a.severity}`);
const compute = (p: Partial<ProcessV1>) => gpu('NV_ESC_RM_ALLOC', 'HOPPER_COMPUTE_A', p);

const SLURMSTEPD: AncestorV1 = {
  pid: 3000,
  comm: 'slurmstepd',
  exe: '/usr/sbin/slurmstepd',
  argv: ['slurmstepd: [42.0]'],
};
const JOB_PY: AncestorV1 = { pid: 4000, comm: 'python3', exe: '/usr/bin/python3.11', argv: ['python3', 'agent.py'] };
const TOOL_SHELL: AncestorV1 = { pid: 5000, comm: 'bash', exe: '/usr/bin/bash', argv: ['bash', '-c', 'python3 x.py'] };
const LOGIN: AncestorV1[] = [
  { pid: 900, comm: 'bash', exe: '/usr/bin/bash', argv: ['-bash'] },
  { pid: 800, comm: 'sshd', exe: '/usr/sbin/sshd', argv: ['sshd: u@pts/0'] },
  { pid: 1, comm: 'systemd', exe: '/usr/lib/systemd/systemd', argv: ['/sbin/init'] },
];
const INTERACTIVE = { job: null, cgroup: '/user.slice/user-1000.slice/session-3.scope', ancestry: LOGIN };

test("gpu.unexpected-process: a shell the job spawned (tool call) running the job's own interpreter", () => {
  const tool = { pid: 5001, exe: '/usr/bin/python3.11', comm: 'python3', ancestry: [TOOL_SHELL, JOB_PY, SLURMSTEPD] };
  const [alert] = alertsOf(compute(tool));
  assert.equal(alert?.severity, 'high');
  assert.match(
    alert!.reason,
    /it runs under bash \(pid 5000\) spawned by the job's python3 \(pid 4000\): an agent's tool call, not the job's launcher \(expectation failed: started by a shell the job spawned\)/,
  );
  // A batch script's shell under slurmstepd, then torchrun, then workers: the launcher's, not a tool call.
  const batch: AncestorV1 = { pid: 3100, comm: 'bash', exe: '/usr/bin/bash', argv: ['/bin/bash', 'job.sh'] };
  const torchrun: AncestorV1 = {
    pid: 3200,
    comm: 'torchrun',
    exe: '/usr/bin/python3.11',
    argv: ['torchrun', 'train.py'],
  };
  assert.deepEqual(
    raised(
      compute({ pid: 3300, exe: '/usr/bin/python3.11', comm: 'python3', ancestry: [torchrun, batch, SLURMSTEPD] }),
    ),
    [],
  );
});

test('gpu.unexpected-process: dropped, scratch-place and fileless binaries are critical; built here is low', () => {
  assert.deepEqual(
    raised(compute({ exe: '/home/u/w/kw', comm: 'kw', exeRecentlyWritten: true, exeInWritableDir: true })),
    ['gpu.unexpected-process:critical'],
  );
  const [fileless] = alertsOf(compute({ exe: '/memfd:x (deleted)', comm: '3', fileless: true, memfdName: 'x' }));
  assert.equal(fileless?.severity, 'critical');
  assert.match(fileless!.reason, /it runs fileless \(memfd "x"\) \(expectation failed: fileless binary\)/);
  // A user-owned directory, not just written, not seen before: high.
  assert.deepEqual(raised(compute({ exe: '/home/u/bin/tool', comm: 'tool', exeInWritableDir: true })), [
    'gpu.unexpected-process:high',
  ]);
  // The same binary, compiled here by nvcc: low, naming the build.
  const build = exec(
    ['nvcc', '-O3', 'tool.cu', '-o', 'tool'],
    { pid: 7001, cwd: '/home/u/bin', ...INTERACTIVE },
    '/usr/local/cuda/bin/nvcc',
  );
  const [low] = alertsOf(
    build,
    compute({ exe: '/home/u/bin/tool', comm: 'tool', exeInWritableDir: true, exeRecentlyWritten: true }),
  );
  assert.equal(low?.severity, 'low');
  assert.match(
    low!.reason,
    /but nvcc \(pid 7001\) built it here \(`nvcc -O3 tool\.cu -o tool`\) \(expectation failed: binary built on this host\)/,
  );
});

test('gpu.unexpected-process: a non-python binary in a venv bin; python there is expected', () => {
  const venv = '/home/u/proj/.venv/bin';
  assert.deepEqual(raised(compute({ exe: `${venv}/nvidia-persistenced`, comm: 'nvidia-persiste' })), [
    'gpu.unexpected-process:high',
  ]);
  assert.deepEqual(raised(compute({ exe: '/home/u/miniconda3/envs/train/bin/xmrig-cuda', comm: 'xmrig-cuda' })), [
    'gpu.unexpected-process:high',
  ]);
  assert.deepEqual(raised(compute({ exe: `${venv}/python3`, comm: 'python3', exeInWritableDir: true })), []);
});

test('gpu.unexpected-process: a just-written binary in /usr/local/bin', () => {
  const [a] = alertsOf(
    compute({ exe: '/usr/local/bin/nvidia-smi-helper', comm: 'nvidia-smi-help', exeRecentlyWritten: true }),
  );
  assert.equal(a?.severity, 'high');
  assert.match(a!.reason, /\(expectation failed: just-written binary in \/usr\/local or \/opt\)/);
  assert.deepEqual(raised(compute({ exe: '/usr/local/bin/nvidia-smi-helper', comm: 'nvidia-smi-help' })), []);
});

test('gpu.unexpected-process: a binary first seen in this job, by hash; seen before the job it is expected', () => {
  const hash = 'ab'.repeat(32);
  const trainer = { pid: 6000, exe: '/srv/tools/trainer', comm: 'trainer', exeHash: hash };
  const [a] = alertsOf(exec(['/srv/tools/trainer'], trainer), compute(trainer));
  assert.equal(a?.severity, 'high');
  assert.match(
    a!.reason,
    /its content \(hash\) was first seen on this host in slurm:42 \(expectation failed: not installed software, not seen before the job\)/,
  );
  assert.deepEqual(
    raised(
      exec(['/srv/tools/trainer'], { ...trainer, pid: 5900, job: null }),
      exec(['/srv/tools/trainer'], trainer),
      compute(trainer),
    ),
    [],
  );
});

test('gpu.unexpected-process: outside any job on a host that runs jobs ranks medium', () => {
  const inJob = compute({ pid: 4100, exe: '/usr/bin/python3.11', comm: 'python3' });
  const outside = compute({ pid: 9100, exe: '/usr/bin/python3.11', comm: 'python3', ...INTERACTIVE });
  assert.deepEqual(raised(inJob, outside), ['gpu.unexpected-process:medium']);
  assert.deepEqual(raised(outside), [], "a host with no jobs: an interactive python is its user's work");
});

test('gpu.unexpected-process: configured expectations win over every rule', () => {
  const { engine, alerts } = builtinEngine({
    expectedGpu: { exe: ['/home/u/w/**'], cgroup: [] },
    sensorPids: () => new Set(),
  });
  engine.process([
    compute({ exe: '/home/u/w/kw', comm: 'kw', exeRecentlyWritten: true, ancestry: [TOOL_SHELL, JOB_PY, SLURMSTEPD] }),
  ]);
  assert.deepEqual(alerts, []);
});

test('gpu.unexpected-process: a build by a target-prefixed, versioned compiler (x86_64-linux-gnu-gcc-13) is known', () => {
  const build = exec(['/usr/bin/x86_64-linux-gnu-gcc-13', '-O2', '-o', '/tmp/t/probe', 'probe.c'], {
    pid: 7101,
    cwd: '/tmp/t',
    ...INTERACTIVE,
  });
  assert.deepEqual(
    raised(build, compute({ exe: '/tmp/t/probe', comm: 'probe', exeRecentlyWritten: true, ...INTERACTIVE })),
    ['gpu.unexpected-process:low'],
  );
});

test('gpu.unexpected-process: a tool-call shell renamed (a copy of the host bash) is still a shell, by content', () => {
  const BASH = 'cd'.repeat(32);
  const reference = exeReport('/usr/bin/bash', BASH, { reference: true });
  const copy = exeReport('/tmp/.s', BASH);
  const renamed: AncestorV1 = { pid: 5000, comm: '.s', exe: '/tmp/.s', argv: ['.s', '-c', 'python3 x.py'] };
  const tool = { pid: 5001, exe: '/usr/bin/python3.11', comm: 'python3', ancestry: [renamed, JOB_PY, SLURMSTEPD] };
  assert.deepEqual(raised(reference, copy, compute(tool)), ['gpu.unexpected-process:high']);
});

test('gpu.unexpected-process: a binary a cp put in /usr/local/bin just before, its hash not yet known', () => {
  const cp = exec(['cp', '/tmp/.x/m', '/usr/local/bin/nvidia-fabricmanagerd'], { pid: 6100, cwd: '/root' });
  const run = { pid: 6101, exe: '/usr/local/bin/nvidia-fabricmanagerd', comm: 'nvidia-fabricma' };
  const [a] = alertsOf(cp, compute(run));
  assert.equal(a?.severity, 'critical', 'copied from a scratch place');
  assert.match(
    a!.reason,
    /cp \(pid 6100\) copied it from \/tmp\/\.x\/m before it ran \(`cp \/tmp\/\.x\/m \/usr\/local\/bin\/nvidia-fabricmanagerd`\) \(expectation failed: binary copied into place, then run\)/,
  );
  // Into a directory (`install -m 755 X /usr/local/bin/`), from a user's directory: high.
  const install = exec(['install', '-m', '755', 'm', '/usr/local/bin/'], { pid: 6200, cwd: '/home/u/src' });
  const [b] = alertsOf(install, compute({ ...run, exe: '/usr/local/bin/m', comm: 'm', pid: 6201 }));
  assert.equal(b?.severity, 'high');
  // A binary built here and installed (`make install`) is the user's own build: low.
  const cc = exec(['cc', '-o', 'trainer', 'train.c'], { pid: 6300, cwd: '/home/u/src' });
  const inst = exec(['install', 'trainer', '/usr/local/bin/trainer'], { pid: 6301, cwd: '/home/u/src' });
  const [c] = alertsOf(cc, inst, compute({ ...run, exe: '/usr/local/bin/trainer', comm: 'trainer', pid: 6302 }));
  assert.equal(c?.severity, 'low');
});

test('gpu.unexpected-process: outside a scheduler job, GPU compute under a shell a python spawned ranks medium', () => {
  const py: AncestorV1 = {
    pid: 7000,
    comm: 'python',
    exe: '/home/u/.venv/bin/python',
    argv: ['python', 'agent_job.py'],
  };
  const sh: AncestorV1 = { pid: 7001, comm: 'sh', exe: '/usr/bin/dash', argv: ['/bin/sh', '-c', 'python gpu.py'] };
  const [a] = alertsOf(
    compute({ pid: 7002, exe: '/home/u/.venv/bin/python', comm: 'python', job: null, ancestry: [sh, py, ...LOGIN] }),
  );
  assert.equal(a?.severity, 'medium');
  assert.match(a!.reason, /expectation failed: started by a shell a python process spawned/);
});

test('gpu.unexpected-process: a trainer make built and started by a relative path (./train_gpt2) is the build', () => {
  // make runs `cc -O2 -o train_gpt2 …` in ~/llm.c, then the user runs ./train_gpt2 there: the
  // process's exe reads as it was named, the build's output resolves against the same cwd.
  const build = exec(
    ['cc', '-O2', '-o', 'train_gpt2', 'train_gpt2.c'],
    { pid: 7201, cwd: '/home/u/llm.c', ...INTERACTIVE },
    '/usr/bin/cc',
  );
  const trainer = compute({ exe: './train_gpt2', comm: 'train_gpt2', cwd: '/home/u/llm.c', ...INTERACTIVE });
  assert.deepEqual(raised(build, trainer), ['gpu.unexpected-process:low']);
  // The sensor could not read its cwd, or read its parent's: the build of that name is found.
  const noCwd = compute({ exe: './train_gpt2', comm: 'train_gpt2', ...INTERACTIVE });
  assert.deepEqual(raised(build, noCwd), ['gpu.unexpected-process:low']);
  const staleCwd = compute({ exe: './train_gpt2', comm: 'train_gpt2', cwd: '/work/repo', ...INTERACTIVE });
  assert.deepEqual(raised(build, staleCwd), ['gpu.unexpected-process:low']);
  // Not built here, the same relative start stays high; from a scratch folder it is judged by that place.
  assert.deepEqual(raised(trainer), ['gpu.unexpected-process:high']);
  assert.deepEqual(
    raised(compute({ exe: './kw', comm: 'kw', cwd: '/tmp/x', exeRecentlyWritten: true, ...INTERACTIVE })),
    ['gpu.unexpected-process:critical'],
  );
});

test("gpu.unexpected-process: the job's interpreter under `sh -c torchrun` or a notebook terminal ranks medium, a piped tool call stays high", () => {
  const torchrun: AncestorV1 = {
    pid: 5100,
    comm: 'torchrun',
    exe: '/usr/bin/python3.11',
    argv: ['torchrun', 'train.py'],
  };
  const viaLauncher = {
    pid: 5200,
    exe: '/usr/bin/python3.11',
    comm: 'python3',
    ancestry: [torchrun, TOOL_SHELL, JOB_PY, SLURMSTEPD],
  };
  const [launched] = alertsOf(compute(viaLauncher));
  assert.equal(launched?.severity, 'medium');
  assert.match(launched!.reason, /but the shell started the launcher torchrun \(pid 5100\) that started it/);

  // A Jupyter terminal: the shell the server spawned reads a pty.
  const terminal = execWithStdio(['bash', '-l'], ttyStdio(), {
    pid: 5000,
    exe: '/usr/bin/bash',
    comm: 'bash',
    ancestry: [JOB_PY, SLURMSTEPD],
  });
  const trainer = {
    pid: 5300,
    exe: '/usr/bin/python3.11',
    comm: 'python3',
    ancestry: [TOOL_SHELL, JOB_PY, SLURMSTEPD],
  };
  const [fromTerminal] = alertsOf(terminal, compute(trainer));
  assert.equal(fromTerminal?.severity, 'medium');
  assert.match(fromTerminal!.reason, /fd 0 is a tty/);

  // The same shell on a pipe (subprocess.run), or a launcher under it running a copied binary: high or worse.
  const piped = execWithStdio(['bash', '-c', 'python3 x.py'], [pipeFd(0, 77), pipeFd(1, 78), pipeFd(2, 78)], {
    pid: 5000,
    exe: '/usr/bin/bash',
    comm: 'bash',
    ancestry: [JOB_PY, SLURMSTEPD],
  });
  assert.equal(alertsOf(piped, compute(trainer))[0]?.severity, 'high');
  const dropped = { ...viaLauncher, exe: '/tmp/.x/kw', comm: 'kw', exeRecentlyWritten: true, exeInWritableDir: true };
  assert.equal(alertsOf(compute(dropped))[0]?.severity, 'critical');
});
