import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configCandidates, sshShaped, SSH_SYSTEM_CONFIG } from './config-candidates.js';

const paths = (argv: string[], exe: string, extra: { cwd?: string; home?: string; script?: string } = {}) =>
  configCandidates({ argv, exe, cwd: '/work', home: '/home/u', ...extra }).map((c) => `${c.reason} ${c.path}`);

test('ssh -F names its config (relative to the cwd) and then reads no user or system config', () => {
  assert.deepEqual(paths(['ssh', '-F', 'cfg', '-N', 'host'], '/usr/bin/ssh'), ['argument /work/cfg']);
  assert.deepEqual(paths(['ssh', '-NFcfg', 'host'], '/usr/bin/ssh'), ['argument /work/cfg']);
  assert.deepEqual(paths(['ssh', '-p', '22', '-F/etc/x', 'host'], '/usr/bin/ssh'), ['argument /etc/x']);
});

test("ssh without -F reads the user's ~/.ssh/config and the system's, by name or by argv shape", () => {
  const both = ['ssh-config /home/u/.ssh/config', `ssh-config ${SSH_SYSTEM_CONFIG}`];
  assert.deepEqual(paths(['ssh', 'host'], '/usr/bin/ssh'), both);
  assert.deepEqual(paths(['kworker', '-N', '-R', '8080:localhost:22', 'h'], '/tmp/x/kworker'), both);
  assert.deepEqual(paths(['kworker', '-o', 'BatchMode=yes', 'h'], '/tmp/x/kworker'), both);
  assert.deepEqual(paths(['ssh', 'host'], '/usr/bin/ssh', { home: 'relative' }), [`ssh-config ${SSH_SYSTEM_CONFIG}`]);
  assert.equal(sshShaped(['ls', '-R', '/tmp']), false, 'ls -R /tmp is not a forward');
  assert.equal(sshShaped(['grep', '-L', 'x']), false);
});

test('--config, --config=, -config, --config-file and -c FILE.ext name a config; -c with a command does not', () => {
  assert.deepEqual(paths(['frpc', '-c', 'frpc.toml'], '/opt/frpc'), ['argument /work/frpc.toml']);
  assert.deepEqual(paths(['cloudflared', '--config', '/etc/cf.yml', 'tunnel', 'run'], '/usr/bin/cloudflared'), [
    'argument /etc/cf.yml',
  ]);
  assert.deepEqual(paths(['x', '--config=a/b.conf'], '/usr/bin/x'), ['argument /work/a/b.conf']);
  assert.deepEqual(paths(['gost', '-config', 'g'], '/usr/bin/gost'), ['argument /work/g']);
  assert.deepEqual(paths(['x', '--config-file', '/c'], '/usr/bin/x'), ['argument /c']);
  assert.deepEqual(paths(['bash', '-c', 'echo hi > /tmp/a.conf'], '/usr/bin/bash'), []);
  assert.deepEqual(paths(['python3', '-c', 'print(1)'], '/usr/bin/python3'), []);
});

test('a lone positional argument with a config extension is a config; one among several is not', () => {
  assert.deepEqual(paths(['gost', 'tunnel.yaml'], '/usr/local/bin/gost'), ['argument /work/tunnel.yaml']);
  assert.deepEqual(paths(['python3', 'train.py', 'cfg.yaml'], '/usr/bin/python3'), []);
  assert.deepEqual(paths(['cat', 'notes.txt'], '/usr/bin/cat'), []);
});

test('a program outside the tool directories started with no arguments: config.json/.toml beside it and in its cwd', () => {
  assert.deepEqual(paths(['kthreadd-helper'], '/tmp/m/kthreadd-helper'), [
    'beside-exe /tmp/m/config.json',
    'beside-exe /tmp/m/config.toml',
    'cwd /work/config.json',
    'cwd /work/config.toml',
  ]);
  assert.deepEqual(paths(['top'], '/usr/bin/top'), [], "the host's own tools are not asked");
  assert.deepEqual(paths(['m', '--threads', '4'], '/tmp/m/m'), [], 'arguments given: they say where the config is');
  assert.deepEqual(paths(['m'], '/tmp/m/m', { cwd: '/tmp/m' }).length, 2, 'the cwd beside the exe is read once');
});

test('a script started with no arguments through its #! interpreter: config.json beside the script', () => {
  assert.deepEqual(
    paths(['/tmp/m/kdevtmpfsi'], '/usr/bin/python3.11', { script: '/tmp/m/kdevtmpfsi', cwd: '/tmp/m' }),
    ['beside-exe /tmp/m/config.json', 'beside-exe /tmp/m/config.toml'],
  );
  assert.deepEqual(
    paths(['/usr/bin/python3.11'], '/usr/bin/python3.11'),
    [],
    "the interpreter itself is the host's own",
  );
});

test('an unknown cwd leaves relative names unresolved, and hostile names are bounded', () => {
  assert.deepEqual(configCandidates({ argv: ['x', '--config', 'rel.conf'], exe: '/usr/bin/x' }), []);
  assert.deepEqual(paths(['x', '--config', `/${'a'.repeat(5000)}`], '/usr/bin/x'), []);
  assert.deepEqual(paths(['x', '--config', 'a\0b'], '/usr/bin/x'), []);
  const many = ['x', ...Array.from({ length: 100 }, (_, i) => `--config=/c${i}`)];
  assert.equal(paths(many, '/usr/bin/x').length, 100, 'all are candidates; the reader bounds how many it opens');
});
